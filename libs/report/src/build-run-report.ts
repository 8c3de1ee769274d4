// The report of a run read from the bucket: the record (loaded by the caller), class names from the
// dataset manifest, and samples from the pseudo-label shards.
import { loadManifest } from '@selftrain/data';
import type { RunRecord } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';
import type { ExperimentTable } from './experiment-table';
import { encodeCanvasPng } from './rgba-canvas';
import { loadPseudoLabelSamples, type PseudoLabelSample } from './pseudo-label-samples';
import { renderSampleTile } from './sample-grid-png';
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
  for (const group of samples) group.samples = group.samples.map(withDenseLabels);
  return renderRunReport({ record, classNames, samples, experiments: opts.experiments, sampleOverlay: opts.sampleOverlay });
}

/**
 * Detection and segmentation samples show what the teacher taught: the boxes drawn on the image, or the
 * mask over it (ignore hatched), as `selftrain show` draws them; classification samples are unchanged.
 */
export function withDenseLabels(s: PseudoLabelSample): PseudoLabelSample {
  const r = s.record;
  const task = r.objects ? 'detection' : r.mask ? 'segmentation' : undefined;
  if (!task) return s;
  const tile = renderSampleTile(r, task, 2);
  const ignored = r.mask ? r.mask.reduce((n, v) => n + (v === 255 ? 1 : 0), 0) / r.mask.length : 0;
  return {
    ...s, dataUri: `data:image/png;base64,${encodeCanvasPng(tile).toString('base64')}`, width: tile.width, height: tile.height,
    caption: task === 'detection' ? `${r.objects!.length} box${r.objects!.length === 1 ? '' : 'es'}` : `${(100 * ignored).toFixed(0)} % ignored`,
  };
}
