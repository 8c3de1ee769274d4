// COCO instances JSON + an image folder (JPEG, PNG or WebP, any sizes) -> a detection dataset. The JSON
// is checked whole before anything is written; the photos are then decoded on every core, fitted to one
// size (letterbox by default, so boxes stay exact) and written shard by shard, the manifest last.
// Box coordinates are taken in the frame of the upright image (EXIF orientation applied), the one the
// JSON's width and height must match.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { InputError } from '@selftrain/errors';
import type { SkippedFile } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';
import type { BoxObject } from './annotation-features';
import { photoWriteOptions, skipOrThrow, writePhotoDataset, type PhotoIngestOptions, type PhotoItem, type PhotoWriteResult } from './photo-dataset-writer';
import { listImageFiles } from './photo-files';
import { assignSplits, type LabeledSplit, type SplitChoice } from './user-splits';

export interface IngestCocoOptions extends SplitChoice, PhotoIngestOptions {
  /** instances_*.json: images, annotations, categories. */
  annotationFile: string;
  /** Folder holding each image's file_name. */
  imageDir: string;
  /** Optional folder of images without annotations (JPEG, PNG, WebP): the unlabeled split. */
  unlabeledDir?: string;
  prefix: string;
  /** How far (pixels) a box may pass the image edge and be clipped, for float rounding in users' files (default 1). */
  boxTolerance?: number;
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

export async function ingestCoco(store: ObjectStore, opts: IngestCocoOptions): Promise<PhotoWriteResult> {
  const file = opts.annotationFile;
  const coco = readCocoFile(file);
  const tol = opts.boxTolerance ?? 1;
  const skipBad = opts.skipBad ?? false;
  const skipped: SkippedFile[] = [];

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

  // With skipBad, an annotation that cannot be read leaves out its whole image (a box missing from an
  // image would teach the model that the object is background); one naming no image is left out alone.
  const badImages = new Set<number>();
  const objects = new Map<number, BoxObject[]>([...images.keys()].map((id) => [id, []]));
  coco.annotations.forEach((a, i) => {
    const what = `annotations[${i}] (id ${a.id ?? '?'}, image ${a.image_id})`;
    const im = images.get(a.image_id);
    const problem = (msg: string) => {
      skipOrThrow(new InputError(file, `${what}: ${msg}`), skipBad, skipped);
      if (im) badImages.add(im.id);
    };
    if (!im) return problem(`image_id ${a.image_id} is not among the images`);
    const label = labelOf.get(a.category_id);
    if (label === undefined) return problem(`unknown category_id ${a.category_id} (categories: ${cats.map((c) => c.id).join(', ')})`);
    if (!Array.isArray(a.bbox) || a.bbox.length !== 4 || !a.bbox.every(Number.isFinite)) return problem('bbox must be [x, y, width, height]');
    const [x, y, w, h] = a.bbox;
    if (!(w > 0 && h > 0)) return problem(`empty bbox [${a.bbox.join(', ')}]`);
    if (x < -tol || y < -tol || x + w > im.width + tol || y + h > im.height + tol) {
      return problem(`bbox [${a.bbox.join(', ')}] lies outside the ${im.width}x${im.height} image ${im.file_name}`);
    }
    const clip = (v: number, max: number) => Math.min(1, Math.max(0, v / max));
    const o: BoxObject = { xmin: clip(x, im.width), ymin: clip(y, im.height), xmax: clip(x + w, im.width), ymax: clip(y + h, im.height), label, area: a.area ?? w * h };
    if (a.iscrowd) o.isCrowd = true;
    objects.get(a.image_id)!.push(o);
  });

  const splitOf = assignSplits(coco.images.map((im) => im.file_name), opts);
  const items: Record<LabeledSplit, PhotoItem[]> = { labeled: [], val: [], test: [] };
  const kept = [...images.values()].filter((im) => !badImages.has(im.id)).sort((a, b) => a.id - b.id);
  for (const im of kept) {
    items[splitOf.get(im.file_name)!].push({
      path: join(opts.imageDir, im.file_name),
      key: `coco-${im.id}`,
      sourceId: String(im.id),
      declared: { size: { height: im.height, width: im.width }, by: basename(file), what: `image id ${im.id}` },
      objects: objects.get(im.id)!,
    });
  }
  const unlabeled: PhotoItem[] = opts.unlabeledDir === undefined
    ? []
    : listImageFiles(opts.unlabeledDir, 'unlabeledDir').map((name) => ({ path: join(opts.unlabeledDir!, name), key: `unlabeled-${name}` }));

  const write = photoWriteOptions(opts, kept.map((im) => ({ height: im.height, width: im.width })), skipped);
  return writePhotoDataset(
    store,
    opts.prefix,
    {
      name: basename(file, '.json'),
      source: `coco:${file}`,
      task: 'detection',
      classNames: ['background', ...cats.map((c) => c.name)],
      categoryIds: [0, ...cats.map((c) => c.id)],
      seed: opts.seed ?? 0,
    },
    [{ name: 'labeled', items: items.labeled }, { name: 'val', items: items.val }, { name: 'test', items: items.test }, { name: 'unlabeled', items: unlabeled }],
    write,
  );
}
