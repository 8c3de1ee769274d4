// `selftrain show RUN`: a grid of one generation's pseudo-labeled samples read from the bucket, drawn
// for the dataset's task with the manifest's class names.
import { loadManifest, readShard, taskOf, type ImageRecord, type Task } from '@selftrain/data';
import { NotFoundError } from '@selftrain/errors';
import type { Generation, RunRecord } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';
import { sampleGridPng } from './sample-grid-png';

export interface BuildSampleGridOptions {
  /** Samples drawn (default 24). */
  count?: number;
  /** The generation (its index); default the last one with pseudo-labels. */
  generation?: number;
  columns?: number;
  scale?: number;
}

export interface SampleGrid {
  png: Buffer;
  generation: number;
  task: Task;
  samples: number;
  /** The pseudo-label shards the samples came from. */
  shards: string[];
}

const hasPseudoLabels = (g: Generation) => g.pseudoShards.some((s) => Number(s.records) > 0);

function pickGeneration(record: RunRecord, index: number | undefined): Generation {
  const what = `pseudo-labels of run ${record.runId}`;
  if (index === undefined) {
    const g = record.generations.filter(hasPseudoLabels).at(-1);
    if (!g) throw new NotFoundError(what, `run ${record.runId} has no pseudo-labels yet (no generation has finished labeling; state ${record.state || 'unknown'})`);
    return g;
  }
  const g = record.generations.find((x) => x.index === index);
  if (!g) throw new NotFoundError(what, `run ${record.runId} has no generation ${index} (generations: ${record.generations.map((x) => x.index).join(', ') || 'none'})`);
  if (!hasPseudoLabels(g)) throw new NotFoundError(what, `run ${record.runId} has no pseudo-labels in generation ${index} yet`);
  return g;
}

/** Records without a manifest to ask (the dataset was deleted): what the pseudo-labels carry says the task. */
function taskOfRecords(records: readonly ImageRecord[]): Task {
  if (records.some((r) => r.objects !== undefined)) return 'detection';
  if (records.some((r) => r.mask !== undefined)) return 'segmentation';
  return 'classification';
}

async function datasetInfo(store: ObjectStore, dataset: string): Promise<{ task?: Task; classNames?: string[] }> {
  if (!dataset) return {};
  try {
    const m = await loadManifest(store, dataset);
    return { task: taskOf(m), classNames: m.classNames };
  } catch (err) {
    if (err instanceof NotFoundError) return {};
    throw err;
  }
}

/** Reads the generation's first pseudo-label shard(s) until `count` records, then draws them; NotFoundError when there are none. */
export async function buildSampleGrid(store: ObjectStore, record: RunRecord, opts: BuildSampleGridOptions = {}): Promise<SampleGrid> {
  const count = opts.count ?? 24;
  if (!(Number.isInteger(count) && count >= 1)) throw new Error(`count must be a positive integer, got ${count}`);
  const g = pickGeneration(record, opts.generation);
  const records: ImageRecord[] = [];
  const shards: string[] = [];
  for (const shard of g.pseudoShards) {
    if (records.length >= count) break;
    if (Number(shard.records) === 0) continue;
    shards.push(shard.key);
    for (const r of readShard(await store.get(shard.key), shard.key)) {
      if (records.length >= count) break;
      records.push(r);
    }
  }
  if (records.length === 0) throw new NotFoundError(`pseudo-labels of run ${record.runId}`, `run ${record.runId}: the pseudo-label shards of generation ${g.index} hold no records`);
  const info = await datasetInfo(store, record.dataset);
  const task = info.task ?? taskOfRecords(records);
  return { png: sampleGridPng(records, task, { classNames: info.classNames, columns: opts.columns, scale: opts.scale }), generation: g.index, task, samples: records.length, shards };
}
