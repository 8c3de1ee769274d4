// The report of a run read from the bucket: the record (loaded by the caller), class names from the
// dataset manifest, and samples from the pseudo-label shards.
import { loadManifest } from '@selftrain/data';
import type { RunRecord } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';
import type { ExperimentTable } from './experiment-table';
import { loadPseudoLabelSamples } from './pseudo-label-samples';
import { renderRunReport, type SampleOverlay } from './run-report';

export interface BuildRunReportOptions {
  samplesPerGeneration?: number;
  experiments?: ExperimentTable[];
  sampleOverlay?: SampleOverlay;
}

async function manifestClassNames(store: ObjectStore, dataset: string): Promise<string[] | undefined> {
  if (!dataset) return undefined;
  try {
    return (await loadManifest(store, dataset)).classNames;
  } catch {
    // A report of a run whose dataset is gone still renders, with the evaluations' names or ids.
    return undefined;
  }
}

export async function buildRunReport(store: ObjectStore, record: RunRecord, opts: BuildRunReportOptions = {}): Promise<string> {
  const [classNames, samples] = await Promise.all([
    manifestClassNames(store, record.dataset),
    loadPseudoLabelSamples(store, record, { perGeneration: opts.samplesPerGeneration }),
  ]);
  return renderRunReport({ record, classNames, samples, experiments: opts.experiments, sampleOverlay: opts.sampleOverlay });
}
