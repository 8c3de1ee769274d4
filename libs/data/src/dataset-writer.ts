// Writes a detection or segmentation dataset held in memory (the composed scenes): every split's shards,
// then the manifest last, so a failure part-way leaves no manifest and the dataset reads as absent.
// Callers validate their input completely before calling, so bad data writes nothing at all. Users'
// photos (every task) stream through photo-dataset-writer instead; both publish the manifest here.
import { DatasetManifest, type Artifact, type Shard, type SkippedFile, type Split } from '@selftrain/proto';
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
  task: Task;
  /** Detection and segmentation: classNames[0] is the background; box labels are 1..K, mask values 0..K or the ignore label. */
  classNames: string[];
  /** Source category id per label (COCO); empty when labels are the source's ids. */
  categoryIds?: number[];
  ignoreLabel?: number;
  /** 0 when the records differ in size. */
  height: number;
  width: number;
  channels: number;
  seed?: number;
  /** Classification: labeled images kept per class (0: all). */
  labelsPerClass?: number;
  /** Per-channel mean / std (0..1) of the labeled split; absent: not computed. */
  channelMean?: number[];
  channelStd?: number[];
  /** How the images were brought to height x width; absent or '' when none was resized. */
  resizePolicy?: string;
  skippedFiles?: SkippedFile[];
}

export interface WriteDatasetResult {
  manifest: DatasetManifest;
  manifestArtifact: Artifact;
}

/** Adds one record's classes to `counts`: its label (classification), its boxes per class (detection), each class its mask shows (segmentation). */
export function countClasses(counts: number[], r: ImageRecord, task: Task, ignore: number): void {
  if (task === 'classification') counts[r.label!]++;
  else if (task === 'detection') for (const o of r.objects ?? []) counts[o.label]++;
  else {
    const seen = new Set(r.mask ?? []);
    seen.delete(ignore);
    for (const c of seen) counts[c]++;
  }
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
      classCounts: split.labeled ? classCountsOf(split.records, desc, ignore) : [],
      labeled: split.labeled,
    });
  }
  return publishManifest(store, prefix, desc, written);
}

/** The manifest of `desc` with the splits written, put last: its presence is what makes the dataset exist. */
export async function publishManifest(store: ObjectStore, prefix: string, desc: DatasetDescription, splits: Split[]): Promise<WriteDatasetResult> {
  const manifest: DatasetManifest = DatasetManifest.fromPartial({
    name: desc.name,
    source: desc.source,
    classNames: desc.classNames,
    height: desc.height,
    width: desc.width,
    channels: desc.channels,
    splits,
    seed: desc.seed ?? 0,
    labelsPerClass: desc.labelsPerClass ?? 0,
    createdAt: new Date().toISOString(),
    recordFormat: RECORD_FORMAT,
    task: TASK_ENUM[desc.task],
    categoryIds: desc.categoryIds ?? [],
    ignoreLabel: desc.task === 'segmentation' ? (desc.ignoreLabel ?? 255) : 0,
    channelMean: desc.channelMean ?? [],
    channelStd: desc.channelStd ?? [],
    resizePolicy: desc.resizePolicy ?? '',
    skippedFiles: desc.skippedFiles ?? [],
  });
  const manifestArtifact = await store.putJson(manifestKey(prefix), DatasetManifest.toJSON(manifest));
  return { manifest, manifestArtifact };
}

function classCountsOf(records: ImageRecord[], desc: DatasetDescription, ignore: number): number[] {
  const counts = new Array<number>(desc.classNames.length).fill(0);
  for (const r of records) countClasses(counts, r, desc.task, ignore);
  return counts;
}
