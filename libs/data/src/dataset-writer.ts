// Writes a detection or segmentation dataset: every split's shards, then the manifest last, so a
// failure part-way leaves no manifest and the dataset reads as absent. Callers validate their
// input completely before calling, so bad user data writes nothing at all.
import { DatasetManifest, type Artifact, type Shard, type Split } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';
import type { ImageRecord } from './image-example';
import { manifestKey, RECORD_FORMAT, TASK_ENUM, type Task } from './manifest';
import { shardKey } from './ingest-fashion-mnist';
import { writeShard } from './shard';

export interface SplitRecords {
  name: string;
  records: ImageRecord[];
  /** False for an unlabeled split: its records must carry no objects or mask. */
  labeled: boolean;
}

export interface DatasetDescription {
  name: string;
  source: string;
  task: Exclude<Task, 'classification'>;
  /** classNames[0] is the background; box labels are 1..K, mask values 0..K or the ignore label. */
  classNames: string[];
  /** Source category id per label (COCO); empty when labels are the source's ids. */
  categoryIds?: number[];
  ignoreLabel?: number;
  /** 0 when the records differ in size. */
  height: number;
  width: number;
  channels: number;
  seed?: number;
}

export interface WriteDatasetResult {
  manifest: DatasetManifest;
  manifestArtifact: Artifact;
}

/** Per-class counts: boxes per class for detection, records showing the class for segmentation. */
function classCounts(records: ImageRecord[], task: DatasetDescription['task'], numClasses: number, ignore: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (const r of records) {
    if (task === 'detection') for (const o of r.objects ?? []) counts[o.label]++;
    else {
      const seen = new Set(r.mask ?? []);
      seen.delete(ignore);
      for (const c of seen) counts[c]++;
    }
  }
  return counts;
}

export async function writeDataset(
  store: ObjectStore,
  prefix: string,
  desc: DatasetDescription,
  splits: SplitRecords[],
  opts: { shardSize: number; onProgress?: (done: number, total: number) => void },
): Promise<WriteDatasetResult> {
  const ignore = desc.ignoreLabel ?? 255;
  const total = splits.reduce((n, s) => n + s.records.length, 0);
  let done = 0;
  const written: Split[] = [];
  for (const split of splits) {
    const count = Math.ceil(split.records.length / opts.shardSize);
    const shards: Shard[] = [];
    for (let s = 0; s < count; s++) {
      const part = split.records.slice(s * opts.shardSize, (s + 1) * opts.shardSize);
      const art = await store.put(shardKey(prefix, split.name, s, count), writeShard(part));
      shards.push({ key: art.key, records: part.length, sha256: art.sha256, sizeBytes: art.sizeBytes });
      done += part.length;
      opts.onProgress?.(done, total);
    }
    written.push({
      name: split.name,
      records: split.records.length,
      shards,
      classCounts: split.labeled ? classCounts(split.records, desc.task, desc.classNames.length, ignore) : [],
      labeled: split.labeled,
    });
  }
  const manifest: DatasetManifest = DatasetManifest.fromPartial({
    name: desc.name,
    source: desc.source,
    classNames: desc.classNames,
    height: desc.height,
    width: desc.width,
    channels: desc.channels,
    splits: written,
    seed: desc.seed ?? 0,
    createdAt: new Date().toISOString(),
    recordFormat: RECORD_FORMAT,
    task: TASK_ENUM[desc.task],
    categoryIds: desc.categoryIds ?? [],
    ignoreLabel: desc.task === 'segmentation' ? ignore : 0,
  });
  const manifestArtifact = await store.putJson(manifestKey(prefix), DatasetManifest.toJSON(manifest));
  return { manifest, manifestArtifact };
}

/** The record shape every record shares, 0 where they differ (users' images vary in size). */
export function commonShape(records: ImageRecord[]): { height: number; width: number; channels: number } {
  const same = (k: 'height' | 'width' | 'channels') => (records.length > 0 && records.every((r) => r[k] === records[0][k]) ? records[0][k] : 0);
  return { height: same('height'), width: same('width'), channels: same('channels') };
}

/** labeled, val, test (labeled), then unlabeled; empty ones left out except labeled. */
export function orderedSplits(records: Record<'labeled' | 'val' | 'test' | 'unlabeled', ImageRecord[]>): SplitRecords[] {
  return (['labeled', 'val', 'test', 'unlabeled'] as const)
    .filter((s) => records[s].length > 0 || s === 'labeled')
    .map((s) => ({ name: s, records: records[s], labeled: s !== 'unlabeled' }));
}
