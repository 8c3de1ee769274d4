// COCO instances JSON + an image folder -> a detection dataset. Everything is checked (JSON,
// categories, boxes, image files and sizes) before the first write, so bad input writes nothing;
// the shards follow, the manifest last.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { InputError } from '@selftrain/errors';
import type { ObjectStore } from '@selftrain/storage';
import type { BoxObject } from './annotation-features';
import { commonShape, orderedSplits, writeDataset, type WriteDatasetResult } from './dataset-writer';
import type { ImageRecord } from './image-example';
import { readPngImage } from './png-image-file';
import { assignSplits, type SplitChoice } from './user-splits';

export interface IngestCocoOptions extends SplitChoice {
  /** instances_*.json: images, annotations, categories. */
  annotationFile: string;
  /** Folder holding each image's file_name. */
  imageDir: string;
  /** Optional folder of PNGs without annotations: the unlabeled split. */
  unlabeledDir?: string;
  prefix: string;
  /** How far (pixels) a box may pass the image edge and be clipped, for float rounding in users' files (default 1). */
  boxTolerance?: number;
  shardSize?: number;
  onProgress?: (done: number, total: number) => void;
}

interface CocoFile {
  images: { id: number; file_name: string; width: number; height: number }[];
  annotations: { id?: number; image_id: number; category_id: number; bbox: number[]; area?: number; iscrowd?: number }[];
  categories: { id: number; name: string }[];
}

function readCocoFile(path: string): CocoFile {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InputError(path, `not a readable COCO JSON file: ${(err as Error).message}`);
  }
  const f = json as Partial<CocoFile>;
  for (const k of ['images', 'annotations', 'categories'] as const) {
    if (!Array.isArray(f[k])) throw new InputError(path, `no "${k}" array; is this a COCO instances file?`);
  }
  return f as CocoFile;
}

export async function ingestCoco(store: ObjectStore, opts: IngestCocoOptions): Promise<WriteDatasetResult> {
  const file = opts.annotationFile;
  const coco = readCocoFile(file);
  const tol = opts.boxTolerance ?? 1;

  // Contiguous labels 1..K in ascending category id; 0 is the background, as in TF OD label maps.
  const cats = [...coco.categories].sort((a, b) => a.id - b.id);
  const labelOf = new Map<number, number>();
  cats.forEach((c, i) => {
    if (!Number.isInteger(c.id) || labelOf.has(c.id)) throw new InputError(file, `categories[${i}]: id ${c.id} is not a unique integer`);
    labelOf.set(c.id, i + 1);
  });

  const images = new Map<number, CocoFile['images'][number]>();
  coco.images.forEach((im, i) => {
    if (images.has(im.id)) throw new InputError(file, `images[${i}]: duplicate image id ${im.id}`);
    if (typeof im.file_name !== 'string' || !(im.width > 0 && im.height > 0)) throw new InputError(file, `images[${i}] (id ${im.id}): needs file_name, width and height`);
    images.set(im.id, im);
  });

  const objects = new Map<number, BoxObject[]>([...images.keys()].map((id) => [id, []]));
  coco.annotations.forEach((a, i) => {
    const what = `annotations[${i}] (id ${a.id ?? '?'}, image ${a.image_id})`;
    const im = images.get(a.image_id);
    if (!im) throw new InputError(file, `${what}: image_id ${a.image_id} is not among the images`);
    const label = labelOf.get(a.category_id);
    if (label === undefined) throw new InputError(file, `${what}: unknown category_id ${a.category_id} (categories: ${cats.map((c) => c.id).join(', ')})`);
    if (!Array.isArray(a.bbox) || a.bbox.length !== 4 || !a.bbox.every(Number.isFinite)) throw new InputError(file, `${what}: bbox must be [x, y, width, height]`);
    const [x, y, w, h] = a.bbox;
    if (!(w > 0 && h > 0)) throw new InputError(file, `${what}: empty bbox [${a.bbox.join(', ')}]`);
    if (x < -tol || y < -tol || x + w > im.width + tol || y + h > im.height + tol) {
      throw new InputError(file, `${what}: bbox [${a.bbox.join(', ')}] lies outside the ${im.width}x${im.height} image ${im.file_name}`);
    }
    const clip = (v: number, max: number) => Math.min(1, Math.max(0, v / max));
    const o: BoxObject = { xmin: clip(x, im.width), ymin: clip(y, im.height), xmax: clip(x + w, im.width), ymax: clip(y + h, im.height), label, area: a.area ?? w * h };
    if (a.iscrowd) o.isCrowd = true;
    objects.get(a.image_id)!.push(o);
  });

  const byName = new Map([...images.values()].map((im) => [im.file_name, im]));
  const splitOf = assignSplits([...byName.keys()], opts);
  const records: Record<'labeled' | 'val' | 'test' | 'unlabeled', ImageRecord[]> = { labeled: [], val: [], test: [], unlabeled: [] };
  for (const im of [...images.values()].sort((a, b) => a.id - b.id)) {
    const path = join(opts.imageDir, im.file_name);
    const px = readPngImage(path);
    if (px.width !== im.width || px.height !== im.height) {
      throw new InputError(path, `is ${px.width}x${px.height}, but ${basename(file)} says ${im.width}x${im.height} (image id ${im.id})`);
    }
    records[splitOf.get(im.file_name)!].push({ key: `coco-${im.id}`, sourceId: String(im.id), ...px, objects: objects.get(im.id)! });
  }
  if (opts.unlabeledDir !== undefined) {
    if (!existsSync(opts.unlabeledDir)) throw new InputError('unlabeledDir', `directory not found: ${opts.unlabeledDir}`);
    for (const name of readdirSync(opts.unlabeledDir).filter((n) => /\.png$/i.test(n)).sort()) {
      records.unlabeled.push({ key: `unlabeled-${name}`, sourceId: name, ...readPngImage(join(opts.unlabeledDir, name)) });
    }
  }

  return writeDataset(
    store,
    opts.prefix,
    {
      name: basename(file, '.json'),
      source: `coco:${file}`,
      task: 'detection',
      classNames: ['background', ...cats.map((c) => c.name)],
      categoryIds: [0, ...cats.map((c) => c.id)],
      ...commonShape(Object.values(records).flat()),
      seed: opts.seed ?? 0,
    },
    orderedSplits(records),
    { shardSize: opts.shardSize ?? 256, onProgress: opts.onProgress },
  );
}
