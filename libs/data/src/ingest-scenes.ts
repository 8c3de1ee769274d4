// Fashion-MNIST scenes: 1-6 items per 96x96 canvas at random scale and position, exact boxes and
// masks. Stands in for COCO / PASCAL where no such dataset can be fetched: the same record
// keys, manifest fields and splits a user's detection or segmentation data gets.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError, InputError } from '@selftrain/errors';
import type { ObjectStore } from '@selftrain/storage';
import { writeDataset, type WriteDatasetResult } from './dataset-writer';
import { readIdxImages, readIdxLabels } from './idx';
import type { ImageRecord } from './image-example';
import { DEFAULT_FASHION_MNIST_DIR, FASHION_MNIST_CLASS_NAMES } from './ingest-fashion-mnist';
import { loadManifest, manifestKey, taskOf } from './manifest';
import { drawPlacements, paintScene, type SceneItem } from './scene-composer';
import { mulberry32, shuffleInPlace } from '@selftrain/random';

export const SCENE_CLASS_NAMES = ['background', ...FASHION_MNIST_CLASS_NAMES];

export interface SceneDatasetOptions {
  sourceDir?: string;
  prefix?: string;
  /** The manifest's task; records carry both boxes and masks either way. Default detection. */
  task?: 'detection' | 'segmentation';
  labeled?: number;
  /** Labeled scenes for early stopping and the best checkpoint, from the labeled half's images. Default 200. */
  val?: number;
  unlabeled?: number;
  test?: number;
  canvas?: number;
  minItems?: number;
  maxItems?: number;
  minScale?: number;
  maxScale?: number;
  /** Item pixels at or below this intensity are transparent (default 16 of 255). */
  threshold?: number;
  seed?: number;
  shardSize?: number;
  onProgress?: (done: number, total: number) => void;
}

type Resolved = Required<Omit<SceneDatasetOptions, 'onProgress'>>;

function resolve(o: SceneDatasetOptions): Resolved {
  const r: Resolved = {
    sourceDir: o.sourceDir ?? DEFAULT_FASHION_MNIST_DIR,
    prefix: o.prefix ?? 'datasets/fashion-mnist-scenes',
    task: o.task ?? 'detection',
    labeled: o.labeled ?? 200,
    val: o.val ?? 200,
    unlabeled: o.unlabeled ?? 5000,
    test: o.test ?? 1000,
    canvas: o.canvas ?? 96,
    minItems: o.minItems ?? 1,
    maxItems: o.maxItems ?? 6,
    minScale: o.minScale ?? 0.6,
    maxScale: o.maxScale ?? 1.6,
    threshold: o.threshold ?? 16,
    seed: o.seed ?? 0,
    shardSize: o.shardSize ?? 1024,
  };
  for (const k of ['labeled', 'val', 'unlabeled', 'test', 'seed'] as const) {
    if (!Number.isInteger(r[k]) || r[k] < 0) throw new InputError(k, `must be a non-negative integer, got ${r[k]}`);
  }
  for (const k of ['canvas', 'minItems', 'maxItems', 'shardSize'] as const) {
    if (!Number.isInteger(r[k]) || r[k] < 1) throw new InputError(k, `must be a positive integer, got ${r[k]}`);
  }
  if (r.maxItems < r.minItems) throw new InputError('maxItems', `${r.maxItems} is below minItems ${r.minItems}`);
  if (!(r.minScale > 0 && r.maxScale >= r.minScale)) throw new InputError('maxScale', `need 0 < minScale <= maxScale, got ${r.minScale}..${r.maxScale}`);
  if (r.task !== 'detection' && r.task !== 'segmentation') throw new InputError('task', `must be detection or segmentation, got ${r.task}`);
  return r;
}

function idxFile(dir: string, base: string): string {
  for (const name of [`${base}.gz`, base]) if (existsSync(join(dir, name))) return join(dir, name);
  throw new InputError('sourceDir', `missing file ${join(dir, `${base}.gz`)}`);
}

function itemsOf(dir: string, set: 'train' | 't10k'): SceneItem[] {
  const images = readIdxImages(idxFile(dir, `${set}-images-idx3-ubyte`));
  const labels = readIdxLabels(idxFile(dir, `${set}-labels-idx1-ubyte`));
  const n = images.height * images.width;
  return Array.from({ length: images.count }, (_, i) => ({ pixels: images.data.subarray(i * n, (i + 1) * n), size: images.width, label: labels[i] + 1 }));
}

/** The scenes of one split, from its own seeded stream; `withLabels` false drops boxes and mask. */
export function generateScenes(pool: SceneItem[], count: number, o: Resolved, stream: number, keyPrefix: string, withLabels: boolean): ImageRecord[] {
  const rand = mulberry32((o.seed * 7919 + stream * 104729) >>> 0);
  const pick = () => pool[Math.floor(rand() * pool.length)];
  return Array.from({ length: count }, (_, i) => {
    const scene = paintScene(drawPlacements(pick, rand, o, o.canvas), o);
    const rec: ImageRecord = { key: `${keyPrefix}-${String(i).padStart(5, '0')}`, image: scene.image, height: o.canvas, width: o.canvas, channels: 1 };
    if (withLabels) {
      rec.objects = scene.objects;
      rec.mask = scene.mask;
    }
    return rec;
  });
}

/**
 * labeled / unlabeled scenes from disjoint halves of Fashion-MNIST train (a seeded split of its
 * images), test scenes from t10k; shards, then the manifest.
 */
export async function ingestFashionMnistScenes(store: ObjectStore, opts: SceneDatasetOptions = {}): Promise<WriteDatasetResult & { reused: boolean }> {
  const o = resolve(opts);
  const source = `scenes:${o.sourceDir}?canvas=${o.canvas}&items=${o.minItems}-${o.maxItems}&scale=${o.minScale}-${o.maxScale}&threshold=${o.threshold}`;
  const counts = { labeled: o.labeled, val: o.val, unlabeled: o.unlabeled, test: o.test };
  // Written before with the same options: reuse it (the manifest is written last, so it is complete).
  const stat = await store.stat(manifestKey(o.prefix));
  if (stat) {
    const have = await loadManifest(store, o.prefix);
    const diffs = [
      ...(have.source !== source ? [`source ${have.source} (requested ${source})`] : []),
      ...(have.seed !== o.seed ? [`seed ${have.seed} (requested ${o.seed})`] : []),
      ...(taskOf(have) !== o.task ? [`task ${taskOf(have)} (requested ${o.task})`] : []),
      ...Object.entries(counts).filter(([name, n]) => (have.splits.find((x) => x.name === name)?.records ?? -1) !== n).map(([name, n]) => `${name} ${have.splits.find((x) => x.name === name)?.records ?? 'absent'} (requested ${n})`),
    ];
    if (diffs.length) throw new ConflictError(`dataset ${o.prefix} already exists with different options: ${diffs.join(', ')}`);
    return { manifest: have, manifestArtifact: { key: stat.key, sha256: stat.sha256, sizeBytes: stat.sizeBytes }, reused: true };
  }
  if (!existsSync(o.sourceDir)) throw new InputError('sourceDir', `directory not found: ${o.sourceDir}`);
  const train = shuffleInPlace(itemsOf(o.sourceDir, 'train'), mulberry32(o.seed));
  const half = Math.floor(train.length / 2);
  const test = itemsOf(o.sourceDir, 't10k');
  const splits = [
    { name: 'labeled', records: generateScenes(train.slice(0, half), o.labeled, o, 1, 'labeled', true), labeled: true },
    { name: 'val', records: generateScenes(train.slice(0, half), o.val, o, 4, 'val', true), labeled: true },
    { name: 'unlabeled', records: generateScenes(train.slice(half), o.unlabeled, o, 2, 'unlabeled', false), labeled: false },
    { name: 'test', records: generateScenes(test, o.test, o, 3, 'test', true), labeled: true },
  ];
  const written = await writeDataset(
    store,
    o.prefix,
    {
      name: 'fashion-mnist-scenes',
      source,
      task: o.task,
      classNames: [...SCENE_CLASS_NAMES],
      height: o.canvas,
      width: o.canvas,
      channels: 1,
      seed: o.seed,
    },
    splits,
    { shardSize: o.shardSize, onProgress: opts.onProgress },
  );
  return { ...written, reused: false };
}
