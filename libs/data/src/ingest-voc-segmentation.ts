// VOC-style segmentation: an images folder (JPEG, PNG or WebP, any sizes) and a masks folder of PNG class
// masks (grayscale or palette; 255 = ignore) matched by basename -> a segmentation dataset. Images
// without a mask form the unlabeled split. Photos are decoded on every core and fitted to one size
// (letterbox by default); masks follow nearest-neighbour, the padding becoming the ignore label.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, parse } from 'node:path';
import { InputError } from '@selftrain/errors';
import type { ObjectStore } from '@selftrain/storage';
import { IGNORE_LABEL } from '@selftrain/metrics';
import { sniffImageFormat } from './image-decode';
import type { ImageSize } from './image-geometry';
import { decodeMaskPng } from './mask-png';
import { photoWriteOptions, writePhotoDataset, type PhotoIngestOptions, type PhotoItem, type PhotoWriteResult } from './photo-dataset-writer';
import { listImageFiles } from './photo-files';
import { assignSplits, type LabeledSplit, type SplitChoice } from './user-splits';

/** PASCAL VOC 2012's 21 classes, the default when none are given. */
export const VOC_CLASS_NAMES = [
  'background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
  'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor',
];

export interface IngestVocOptions extends SplitChoice, PhotoIngestOptions {
  imageDir: string;
  maskDir: string;
  prefix: string;
  /** Index = mask value; [0] is the background. Default: VOC's 21. */
  classNames?: string[];
}

function listDir(dir: string, field: string): string[] {
  if (!existsSync(dir)) throw new InputError(field, `directory not found: ${dir}`);
  return readdirSync(dir).filter((n) => !n.startsWith('.')).sort();
}

/** A PNG's size from its IHDR chunk; undefined when the file is no PNG (loading the mask says why). */
function pngSize(bytes: Uint8Array): ImageSize | undefined {
  if (bytes.length < 24 || sniffImageFormat(bytes) !== 'png') return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

export async function ingestVocSegmentation(store: ObjectStore, opts: IngestVocOptions): Promise<PhotoWriteResult> {
  const classNames = opts.classNames ?? VOC_CLASS_NAMES;
  if (classNames.length < 2 || classNames.length > IGNORE_LABEL) throw new InputError('classNames', `need 2..${IGNORE_LABEL} classes, got ${classNames.length}`);
  const images = new Map(listImageFiles(opts.imageDir, 'imageDir').map((n) => [parse(n).name, n]));
  const masks = new Map(listDir(opts.maskDir, 'maskDir').map((n) => [parse(n).name, n]));
  for (const [stem, file] of masks) {
    if (!images.has(stem)) throw new InputError(join(opts.maskDir, file), `mask has no image ${stem}.* in ${opts.imageDir}`);
  }

  const loadMask = (stem: string, image: string, path: string) => (source: ImageSize): Uint8Array => {
    const bytes = readFileSync(path);
    if (sniffImageFormat(bytes) === 'jpeg') throw new InputError(path, 'mask is a JPEG; masks must be PNG (lossy compression changes class ids)');
    let m: ReturnType<typeof decodeMaskPng>;
    try {
      m = decodeMaskPng(bytes);
    } catch (err) {
      throw new InputError(path, `bad mask (image ${stem}): ${(err as Error).message}`);
    }
    if (m.width !== source.width || m.height !== source.height) throw new InputError(path, `mask is ${m.width}x${m.height}, image ${image} is ${source.width}x${source.height}`);
    const bad = m.mask.findIndex((v) => v >= classNames.length && v !== IGNORE_LABEL);
    if (bad >= 0) {
      throw new InputError(path, `pixel (${bad % m.width}, ${Math.floor(bad / m.width)}) has class ${m.mask[bad]}; classes are 0..${classNames.length - 1} and ${IGNORE_LABEL} = ignore`);
    }
    return m.mask;
  };

  const labeledNames = [...images.keys()].filter((stem) => masks.has(stem));
  const splitOf = assignSplits(labeledNames, opts);
  const items: Record<LabeledSplit | 'unlabeled', PhotoItem[]> = { labeled: [], val: [], test: [], unlabeled: [] };
  const declared: ImageSize[] = [];
  for (const [stem, file] of images) {
    const item: PhotoItem = { path: join(opts.imageDir, file), key: stem, sourceId: stem };
    const maskFile = masks.get(stem);
    if (maskFile === undefined) {
      items.unlabeled.push(item);
      continue;
    }
    const maskPath = join(opts.maskDir, maskFile);
    // The mask's header gives the image's size (they must match) for the dataset size choice.
    const size = pngSize(readFileSync(maskPath).subarray(0, 24));
    if (size) declared.push(size);
    item.mask = { path: maskPath, load: loadMask(stem, file, maskPath) };
    items[splitOf.get(stem)!].push(item);
  }

  return writePhotoDataset(
    store,
    opts.prefix,
    {
      name: parse(opts.imageDir).name || 'voc',
      source: `voc:${opts.imageDir}+${opts.maskDir}`,
      task: 'segmentation',
      classNames: [...classNames],
      ignoreLabel: IGNORE_LABEL,
      seed: opts.seed ?? 0,
    },
    (['labeled', 'val', 'test', 'unlabeled'] as const).map((name) => ({ name, items: items[name] })),
    photoWriteOptions(opts, declared, []),
  );
}
