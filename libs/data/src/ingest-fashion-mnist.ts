// Fashion-MNIST IDX files -> a dataset in the bucket: labeled / val / unlabeled / test shards,
// hidden labels of the unlabeled split, then the manifest (last, so its presence means complete).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError, CorruptDataError, InputError, NotFoundError } from '@selftrain/errors';
import { DatasetManifest, DatasetTask, type Artifact, type Shard, type Split } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';
import { readIdxImages, readIdxLabels, type IdxImages } from './idx';
import type { ImageRecord } from './image-example';
import { loadManifest, manifestKey, RECORD_FORMAT } from './manifest';
import { mulberry32, shuffleInPlace } from '@selftrain/random';
import { writeShard } from './shard';

export const FASHION_MNIST_CLASS_NAMES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

/**
 * A coarse label space over the same images: "another labeled task" to pretrain on (the paper's
 * ImageNet init, at this scale) or to train jointly with. Each fine class maps to one group.
 */
export const FASHION_MNIST_COARSE_CLASS_NAMES = ['Top or dress', 'Trouser', 'Footwear', 'Bag'] as const;
export const FASHION_MNIST_COARSE_OF_FINE: readonly number[] = [0, 1, 0, 0, 0, 2, 0, 2, 3, 2];

export type FashionMnistLabelSpace = 'fine' | 'coarse';

export const DEFAULT_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export interface IngestFashionMnistOptions {
  /** Directory with {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]. */
  sourceDir?: string;
  /** Key prefix of the dataset in the bucket. */
  prefix?: string;
  /** Labeled training images per class (the human labels the pipeline may see). */
  labelsPerClass?: number;
  /** Labeled validation images per class, taken from the rest of train. */
  valPerClass?: number;
  /** Records per shard. */
  shardSize?: number;
  seed?: number;
  /** Use only the first N training / test images (small datasets for tests). */
  limitTrain?: number;
  limitTest?: number;
  /** 'fine' (the 10 classes, default) or 'coarse' (FASHION_MNIST_COARSE_CLASS_NAMES); per-class counts are per group. */
  labelSpace?: FashionMnistLabelSpace;
  /** Records written so far, of all splits. Called after each shard. */
  onProgress?: (done: number, total: number) => void;
}

export interface IngestResult {
  manifest: DatasetManifest;
  manifestArtifact: Artifact;
  /** True when an identical dataset already existed and nothing was written. */
  reused: boolean;
}

/** The options that decide a dataset's content; kept beside the manifest, which has no field for them. */
interface IngestOptionsRecord {
  seed: number;
  labelsPerClass: number;
  valPerClass: number;
  shardSize: number;
  limitTrain: number | null;
  limitTest: number | null;
  labelSpace: FashionMnistLabelSpace;
}

export const hiddenLabelsKey = (prefix: string) => `${prefix}/unlabeled-labels.json`;
export const ingestOptionsKey = (prefix: string) => `${prefix}/ingest-options.json`;

export function shardKey(prefix: string, split: string, index: number, count: number): string {
  const pad = (n: number) => String(n).padStart(5, '0');
  return `${prefix}/${split}/${split}-${pad(index)}-of-${pad(count)}.tfrecord`;
}

function intOption(field: string, v: number | undefined, dflt: number | null, min: number, max = 2 ** 31 - 1): number | null {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < min || v > max) throw new InputError(field, `must be an integer in [${min}, ${max}], got ${v}`);
  return v;
}

function resolveOptions(opts: IngestFashionMnistOptions): IngestOptionsRecord {
  return {
    seed: intOption('seed', opts.seed, 0, 0)!,
    labelsPerClass: intOption('labelsPerClass', opts.labelsPerClass, 100, 1)!,
    valPerClass: intOption('valPerClass', opts.valPerClass, 50, 0)!,
    shardSize: intOption('shardSize', opts.shardSize, 2048, 1)!,
    limitTrain: intOption('limitTrain', opts.limitTrain, null, 1),
    limitTest: intOption('limitTest', opts.limitTest, null, 1),
    labelSpace: labelSpaceOption(opts.labelSpace),
  };
}

function labelSpaceOption(v: string | undefined): FashionMnistLabelSpace {
  if (v === undefined || v === 'fine' || v === 'coarse') return v ?? 'fine';
  throw new InputError('labelSpace', `must be fine or coarse, got ${JSON.stringify(v)}`);
}

function checkPrefix(prefix: string): void {
  if (prefix === '' || prefix.startsWith('/') || prefix.endsWith('/') || prefix.split('/').includes('..')) {
    throw new InputError('prefix', `invalid key prefix ${JSON.stringify(prefix)}`);
  }
}

/** Existing dataset: same options -> reuse; different -> ConflictError naming each difference. */
async function existingDataset(store: ObjectStore, prefix: string, want: IngestOptionsRecord): Promise<IngestResult | null> {
  const stat = await store.stat(manifestKey(prefix));
  if (!stat) return null;
  const manifest = await loadManifest(store, prefix);
  let have: Partial<IngestOptionsRecord>;
  try {
    have = await store.getJson<IngestOptionsRecord>(ingestOptionsKey(prefix));
    // Written before label spaces existed: those datasets are all fine-grained.
    have.labelSpace ??= 'fine';
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    // Written by something else: compare what the manifest itself records.
    const val = manifest.splits.find((s) => s.name === 'val');
    have = { seed: manifest.seed, labelsPerClass: manifest.labelsPerClass, labelSpace: manifest.classNames.length === FASHION_MNIST_CLASS_NAMES.length ? 'fine' : 'coarse' };
    if (val && val.classCounts.length > 0) have.valPerClass = val.classCounts[0];
  }
  const diffs: string[] = [];
  for (const k of Object.keys(want) as (keyof IngestOptionsRecord)[]) {
    if (k in have && have[k] !== want[k]) diffs.push(`${k} ${have[k]} (requested ${want[k]})`);
  }
  if (diffs.length > 0) {
    throw new ConflictError(`dataset ${prefix} already exists with different options: ${diffs.join(', ')}`);
  }
  return {
    manifest,
    manifestArtifact: { key: stat.key, sha256: stat.sha256, sizeBytes: stat.sizeBytes },
    reused: true,
  };
}

function sourceFile(dir: string, base: string): string {
  for (const name of [`${base}.gz`, base]) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  throw new InputError('sourceDir', `missing file ${join(dir, `${base}.gz`)}`);
}

function readPair(dir: string, set: 'train' | 't10k'): { images: IdxImages; labels: Uint8Array; labelsPath: string } {
  const imagesPath = sourceFile(dir, `${set}-images-idx3-ubyte`);
  const labelsPath = sourceFile(dir, `${set}-labels-idx1-ubyte`);
  const images = readIdxImages(imagesPath);
  const labels = readIdxLabels(labelsPath);
  if (labels.length !== images.count) {
    throw new CorruptDataError(labelsPath, 0, `${labels.length} labels for ${images.count} images in ${imagesPath}`);
  }
  const bad = labels.findIndex((l) => l >= FASHION_MNIST_CLASS_NAMES.length);
  if (bad >= 0) throw new CorruptDataError(labelsPath, 8 + bad, `label ${labels[bad]} out of range`);
  return { images, labels, labelsPath };
}

function relabel<T extends { labels: Uint8Array }>(pair: T, space: FashionMnistLabelSpace): T {
  return space === 'fine' ? pair : { ...pair, labels: pair.labels.map((l) => FASHION_MNIST_COARSE_OF_FINE[l]) };
}

export async function ingestFashionMnist(store: ObjectStore, opts: IngestFashionMnistOptions = {}): Promise<IngestResult> {
  const o = resolveOptions(opts);
  const prefix = opts.prefix ?? 'datasets/fashion-mnist';
  checkPrefix(prefix);
  const existing = await existingDataset(store, prefix, o);
  if (existing) return existing;

  const sourceDir = opts.sourceDir ?? DEFAULT_FASHION_MNIST_DIR;
  if (!existsSync(sourceDir)) throw new InputError('sourceDir', `directory not found: ${sourceDir}`);
  const train = relabel(readPair(sourceDir, 'train'), o.labelSpace);
  const test = relabel(readPair(sourceDir, 't10k'), o.labelSpace);
  const classNames: readonly string[] = o.labelSpace === 'coarse' ? FASHION_MNIST_COARSE_CLASS_NAMES : FASHION_MNIST_CLASS_NAMES;
  const { height, width } = train.images;
  if (test.images.height !== height || test.images.width !== width) {
    throw new CorruptDataError(sourceFile(sourceDir, 't10k-images-idx3-ubyte'), 4, `test images are ${test.images.height}x${test.images.width}, train ${height}x${width}`);
  }
  const nTrain = Math.min(o.limitTrain ?? Infinity, train.images.count);
  const nTest = Math.min(o.limitTest ?? Infinity, test.images.count);
  const numClasses = classNames.length;

  // Per-class seeded draws: labeled first, then val, the rest unlabeled.
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < nTrain; i++) byClass[train.labels[i]].push(i);
  const need = o.labelsPerClass + o.valPerClass;
  byClass.forEach((idx, c) => {
    if (idx.length < need) {
      throw new InputError(
        'labelsPerClass',
        `labelsPerClass + valPerClass = ${need} exceeds the ${idx.length} images of class ${c} (${classNames[c]}) among ${nTrain} training images`,
      );
    }
  });
  const rand = mulberry32(o.seed);
  const labeled: number[] = [];
  const val: number[] = [];
  const unlabeled: number[] = [];
  for (const idx of byClass) {
    shuffleInPlace(idx, rand);
    labeled.push(...idx.slice(0, o.labelsPerClass));
    val.push(...idx.slice(o.labelsPerClass, need));
    unlabeled.push(...idx.slice(need));
  }
  // Mix classes within each split so any prefix of a split's shards is class-balanced.
  shuffleInPlace(labeled, rand);
  shuffleInPlace(val, rand);
  shuffleInPlace(unlabeled, rand);
  const testIdx = Array.from({ length: nTest }, (_, i) => i);

  const pixels = height * width;
  const recordOf = (src: typeof train, set: string, i: number, withLabel: boolean): ImageRecord => {
    const rec: ImageRecord = {
      key: `${set}-${String(i).padStart(5, '0')}`,
      image: src.images.data.subarray(i * pixels, (i + 1) * pixels),
      height,
      width,
      channels: 1,
    };
    if (withLabel) rec.label = src.labels[i];
    return rec;
  };

  const total = labeled.length + val.length + unlabeled.length + testIdx.length;
  let done = 0;
  const writeSplit = async (name: string, src: typeof train, set: string, idx: number[], isLabeled: boolean): Promise<Split> => {
    const count = Math.ceil(idx.length / o.shardSize);
    const shards: Shard[] = [];
    for (let s = 0; s < count; s++) {
      const part = idx.slice(s * o.shardSize, (s + 1) * o.shardSize);
      const art = await store.put(shardKey(prefix, name, s, count), writeShard(part.map((i) => recordOf(src, set, i, isLabeled))));
      shards.push({ key: art.key, records: part.length, sha256: art.sha256, sizeBytes: art.sizeBytes });
      done += part.length;
      opts.onProgress?.(done, total);
    }
    const classCounts = isLabeled ? new Array<number>(numClasses).fill(0) : [];
    if (isLabeled) for (const i of idx) classCounts[src.labels[i]]++;
    return { name, records: idx.length, shards, classCounts, labeled: isLabeled };
  };

  const splits = [
    await writeSplit('labeled', train, 'train', labeled, true),
    await writeSplit('val', train, 'train', val, true),
    await writeSplit('unlabeled', train, 'train', unlabeled, false),
    await writeSplit('test', test, 'test', testIdx, true),
  ];

  // Only offline analysis (pseudo-label accuracy) reads these; the pipeline never does.
  const hidden: Record<string, number> = {};
  for (const i of unlabeled) hidden[`train-${String(i).padStart(5, '0')}`] = train.labels[i];
  await store.putJson(hiddenLabelsKey(prefix), { split: 'unlabeled', classNames, labels: hidden });
  // Fine datasets keep the file as it was before label spaces existed.
  const { labelSpace, ...recorded } = o;
  await store.putJson(ingestOptionsKey(prefix), labelSpace === 'fine' ? recorded : o);

  const manifest: DatasetManifest = {
    name: o.labelSpace === 'coarse' ? 'fashion-mnist-coarse' : 'fashion-mnist',
    source: `idx:${sourceDir}`,
    classNames: [...classNames],
    height,
    width,
    channels: 1,
    splits,
    seed: o.seed,
    labelsPerClass: o.labelsPerClass,
    createdAt: new Date().toISOString(),
    recordFormat: RECORD_FORMAT,
    // Left unspecified (= classification) so the manifest's bytes are what they were before tasks existed.
    task: DatasetTask.DATASET_TASK_UNSPECIFIED,
    categoryIds: [],
    ignoreLabel: 0,
    channelMean: [],
    channelStd: [],
    resizePolicy: '',
    skippedFiles: [],
  };
  const manifestArtifact = await store.putJson(manifestKey(prefix), DatasetManifest.toJSON(manifest));
  return { manifest, manifestArtifact, reused: false };
}

/** Labels of the unlabeled split by record key, for offline pseudo-label accuracy only. */
export async function loadHiddenLabels(store: ObjectStore, prefix: string): Promise<Map<string, number>> {
  const json = await store.getJson<{ labels: Record<string, number> }>(hiddenLabelsKey(prefix));
  return new Map(Object.entries(json.labels));
}
