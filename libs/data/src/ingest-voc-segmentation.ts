// VOC-style segmentation: an images folder and a masks folder of PNG class masks (grayscale or
// palette; 255 = ignore) matched by basename -> a segmentation dataset. Images without a mask form
// the unlabeled split. Every mask is decoded and checked before the first write.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, parse } from 'node:path';
import { InputError } from '@selftrain/errors';
import type { ObjectStore } from '@selftrain/storage';
import { commonShape, orderedSplits, writeDataset, type WriteDatasetResult } from './dataset-writer';
import type { ImageRecord } from './image-example';
import { IGNORE_LABEL } from '@selftrain/metrics';
import { decodeMaskPng } from './mask-png';
import { isJpeg, readPngImage } from './png-image-file';
import { assignSplits, type SplitChoice } from './user-splits';

/** PASCAL VOC 2012's 21 classes, the default when none are given. */
export const VOC_CLASS_NAMES = [
  'background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
  'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor',
];

export interface IngestVocOptions extends SplitChoice {
  imageDir: string;
  maskDir: string;
  prefix: string;
  /** Index = mask value; [0] is the background. Default: VOC's 21. */
  classNames?: string[];
  shardSize?: number;
  onProgress?: (done: number, total: number) => void;
}

function listDir(dir: string, field: string): string[] {
  if (!existsSync(dir)) throw new InputError(field, `directory not found: ${dir}`);
  return readdirSync(dir).filter((n) => !n.startsWith('.')).sort();
}

export async function ingestVocSegmentation(store: ObjectStore, opts: IngestVocOptions): Promise<WriteDatasetResult> {
  const classNames = opts.classNames ?? VOC_CLASS_NAMES;
  if (classNames.length < 2 || classNames.length > IGNORE_LABEL) throw new InputError('classNames', `need 2..${IGNORE_LABEL} classes, got ${classNames.length}`);
  const images = new Map(listDir(opts.imageDir, 'imageDir').map((n) => [parse(n).name, n]));
  const masks = new Map(listDir(opts.maskDir, 'maskDir').map((n) => [parse(n).name, n]));
  for (const [stem, file] of masks) {
    if (!images.has(stem)) throw new InputError(join(opts.maskDir, file), `mask has no image ${stem}.* in ${opts.imageDir}`);
  }

  const labeledNames = [...images.keys()].filter((stem) => masks.has(stem));
  const splitOf = assignSplits(labeledNames, opts);
  const records: Record<'labeled' | 'val' | 'test' | 'unlabeled', ImageRecord[]> = { labeled: [], val: [], test: [], unlabeled: [] };
  for (const [stem, file] of images) {
    const px = readPngImage(join(opts.imageDir, file));
    const rec: ImageRecord = { key: stem, sourceId: stem, ...px };
    const maskFile = masks.get(stem);
    if (maskFile === undefined) {
      records.unlabeled.push(rec);
      continue;
    }
    const path = join(opts.maskDir, maskFile);
    const bytes = readFileSync(path);
    if (isJpeg(bytes)) throw new InputError(path, 'mask is a JPEG; masks must be PNG (lossy compression changes class ids)');
    let m: ReturnType<typeof decodeMaskPng>;
    try {
      m = decodeMaskPng(bytes);
    } catch (err) {
      throw new InputError(path, `bad mask (image ${stem}): ${(err as Error).message}`);
    }
    if (m.width !== px.width || m.height !== px.height) throw new InputError(path, `mask is ${m.width}x${m.height}, image ${file} is ${px.width}x${px.height}`);
    const bad = m.mask.findIndex((v) => v >= classNames.length && v !== IGNORE_LABEL);
    if (bad >= 0) {
      throw new InputError(path, `pixel (${bad % m.width}, ${Math.floor(bad / m.width)}) has class ${m.mask[bad]}; classes are 0..${classNames.length - 1} and ${IGNORE_LABEL} = ignore`);
    }
    rec.mask = m.mask;
    records[splitOf.get(stem)!].push(rec);
  }

  return writeDataset(
    store,
    opts.prefix,
    {
      name: parse(opts.imageDir).name || 'voc',
      source: `voc:${opts.imageDir}+${opts.maskDir}`,
      task: 'segmentation',
      classNames: [...classNames],
      ignoreLabel: IGNORE_LABEL,
      ...commonShape(Object.values(records).flat()),
      seed: opts.seed ?? 0,
    },
    orderedSplits(records),
    { shardSize: opts.shardSize ?? 256, onProgress: opts.onProgress },
  );
}
