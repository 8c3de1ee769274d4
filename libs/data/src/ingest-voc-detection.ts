// PASCAL VOC detection: <root>/Annotations/*.xml with <root>/JPEGImages/*, split by
// <root>/ImageSets/Main/{train,val,trainval,test}.txt when present -> a detection dataset. Every XML is
// read and checked before anything is written; the photos are then decoded on every core, fitted to one
// size (letterbox by default) and written shard by shard, the manifest last.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, parse } from 'node:path';
import { InputError } from '@selftrain/errors';
import type { SkippedFile } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { BoxObject } from './annotation-features';
import type { ImageSize } from './image-geometry';
import { VOC_CLASS_NAMES } from './ingest-voc-segmentation';
import { photoWriteOptions, skipOrThrow, writePhotoDataset, type PhotoIngestOptions, type PhotoItem, type PhotoWriteResult } from './photo-dataset-writer';
import { listImageFiles } from './photo-files';
import { assignSplits, LABELED_SPLITS, type LabeledSplit, type SplitChoice } from './user-splits';

export interface IngestVocDetectionOptions extends SplitChoice, PhotoIngestOptions {
  /** The VOC root: Annotations/, JPEGImages/, optionally ImageSets/Main/. */
  root: string;
  prefix: string;
  /**
   * Foreground class names, labels 1..K in this order. Default: VOC's 20 when every object is one of
   * them, else the names found, sorted.
   */
  classNames?: string[];
  /** How far (pixels) a box may pass the image edge and be clipped (default 1). */
  boxTolerance?: number;
}

/** One annotation file as read: the image it names, its declared size and its objects by name. */
export interface VocAnnotation {
  stem: string;
  xml: string;
  image: string;
  size: ImageSize;
  objects: { name: string; difficult: boolean; box: { xmin: number; ymin: number; xmax: number; ymax: number } }[];
}

/** ImageSets/Main list -> split; trainval (less val) is the labeled split where there is no train list. */
const SPLIT_LISTS: [string, LabeledSplit][] = [['train', 'labeled'], ['val', 'val'], ['test', 'test']];

const parser = new XMLParser({
  ignoreAttributes: true,
  // Values stay strings: a file name like 000123 must not become a number.
  parseTagValue: false,
  // No entity expansion: an annotation file has no business declaring entities.
  processEntities: false,
  isArray: (_name, jpath) => jpath === 'annotation.object',
});

/** Reads one VOC annotation file; InputError(xml, ...) names what is wrong with it. */
export function readVocAnnotation(xml: string, imageDir: string): VocAnnotation {
  const stem = parse(xml).name;
  const text = readFileSync(xml, 'utf8');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new InputError(xml, `malformed XML: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`);
  const doc = parser.parse(text) as { annotation?: Record<string, unknown> };
  const a = doc.annotation;
  if (!a || typeof a !== 'object') throw new InputError(xml, 'no <annotation> element; is this a VOC annotation file?');
  const int = (v: unknown, what: string): number => {
    const n = Number(typeof v === 'string' ? v.trim() : v);
    if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n)) throw new InputError(xml, `${what} is ${JSON.stringify(v ?? null)}, not a number`);
    return n;
  };
  const size = a.size as Record<string, unknown> | undefined;
  const width = int(size?.width, '<size><width>');
  const height = int(size?.height, '<size><height>');
  if (!(width > 0 && height > 0 && Number.isInteger(width) && Number.isInteger(height))) throw new InputError(xml, `<size> ${width}x${height} is not a positive whole size`);
  const filename = typeof a.filename === 'string' && a.filename.trim() !== '' ? a.filename.trim() : `${stem}.jpg`;
  const objects = ((a.object as Record<string, unknown>[] | undefined) ?? []).map((o, i) => {
    const where = `<object> ${i + 1}`;
    if (typeof o !== 'object' || o === null) throw new InputError(xml, `${where} is empty`);
    const name = typeof o.name === 'string' ? o.name.trim() : '';
    if (name === '') throw new InputError(xml, `${where} has no <name>`);
    const b = o.bndbox as Record<string, unknown> | undefined;
    if (!b || typeof b !== 'object') throw new InputError(xml, `${where} (${name}) has no <bndbox>`);
    const box = {
      xmin: int(b.xmin, `${where} (${name}) <xmin>`),
      ymin: int(b.ymin, `${where} (${name}) <ymin>`),
      xmax: int(b.xmax, `${where} (${name}) <xmax>`),
      ymax: int(b.ymax, `${where} (${name}) <ymax>`),
    };
    const difficult = o.difficult !== undefined && String(o.difficult).trim() === '1';
    return { name, difficult, box };
  });
  return { stem, xml, image: join(imageDir, filename), size: { height, width }, objects };
}

/**
 * VOC boxes are 1-based pixel indices, both ends included (pixel xmin through pixel xmax); the project's
 * boxes are pixel edges as fractions of the size, so the left / top edge is xmin - 1 and the right /
 * bottom edge xmax (as Detectron2 reads VOC). Within `tol` pixels of the edge a box is clipped.
 */
export function vocBoxToFractions(box: VocAnnotation['objects'][number]['box'], size: ImageSize, tol: number): Omit<BoxObject, 'label'> | string {
  const x0 = box.xmin - 1;
  const y0 = box.ymin - 1;
  const { xmax: x1, ymax: y1 } = box;
  if (!(x1 > x0 && y1 > y0)) return `empty box (xmin ${box.xmin}, ymin ${box.ymin}, xmax ${box.xmax}, ymax ${box.ymax})`;
  if (x0 < -tol || y0 < -tol || x1 > size.width + tol || y1 > size.height + tol) {
    return `box (xmin ${box.xmin}, ymin ${box.ymin}, xmax ${box.xmax}, ymax ${box.ymax}) lies outside the ${size.width}x${size.height} image`;
  }
  const clip = (v: number, max: number) => Math.min(1, Math.max(0, v / max));
  return { xmin: clip(x0, size.width), ymin: clip(y0, size.height), xmax: clip(x1, size.width), ymax: clip(y1, size.height) };
}

export async function ingestVocDetection(store: ObjectStore, opts: IngestVocDetectionOptions): Promise<PhotoWriteResult> {
  const annDir = join(opts.root, 'Annotations');
  const imageDir = join(opts.root, 'JPEGImages');
  if (!existsSync(annDir)) throw new InputError('root', `no Annotations folder in ${opts.root}`);
  const skipBad = opts.skipBad ?? false;
  const skipped: SkippedFile[] = [];
  const tol = opts.boxTolerance ?? 1;

  // Every XML first: a bad one fails (or is skipped) before anything is decoded or written.
  const annotations = new Map<string, VocAnnotation>();
  // Stems whose annotation was skipped: the split lists may name them without a second report.
  const rejected = new Set<string>();
  for (const name of readdirSync(annDir).filter((n) => n.toLowerCase().endsWith('.xml') && !n.startsWith('.')).sort()) {
    const xml = join(annDir, name);
    try {
      const a = readVocAnnotation(xml, imageDir);
      if (!existsSync(a.image)) throw new InputError(xml, `names image ${a.image}, which does not exist`);
      annotations.set(a.stem, a);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      skipOrThrow(err, skipBad, skipped);
      rejected.add(parse(name).name);
    }
  }

  const classNames = opts.classNames ?? defaultClassNames(annotations.values());
  const labelOf = new Map(classNames.map((n, i) => [n, i + 1]));
  if (labelOf.size !== classNames.length || classNames.length === 0) throw new InputError('classNames', `need distinct class names, got ${classNames.join(', ')}`);
  const objectsOf = new Map<string, BoxObject[]>();
  for (const a of annotations.values()) {
    try {
      objectsOf.set(a.stem, a.objects.map((o, i) => {
        const label = labelOf.get(o.name);
        if (label === undefined) throw new InputError(a.xml, `<object> ${i + 1}: unknown class ${JSON.stringify(o.name)} (classes: ${classNames.join(', ')})`);
        const box = vocBoxToFractions(o.box, a.size, tol);
        if (typeof box === 'string') throw new InputError(a.xml, `<object> ${i + 1} (${o.name}): ${box}`);
        // VOC's "difficult" objects are neither required nor penalised in evaluation: COCO's crowd.
        return o.difficult ? { ...box, label, isCrowd: true } : { ...box, label };
      }));
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      skipOrThrow(err, skipBad, skipped);
      annotations.delete(a.stem);
      rejected.add(a.stem);
    }
  }

  const { splitOf, unlisted } = vocSplits(opts, annotations, rejected, skipBad, skipped);
  const items: Record<LabeledSplit | 'unlabeled', PhotoItem[]> = { labeled: [], val: [], test: [], unlabeled: [] };
  const declared: ImageSize[] = [];
  for (const a of annotations.values()) {
    const split = splitOf.get(a.stem);
    if (split === undefined) continue;
    declared.push(a.size);
    items[split].push({ path: a.image, key: a.stem, sourceId: a.stem, declared: { size: a.size, by: a.xml, what: '<size>' }, objects: objectsOf.get(a.stem)! });
  }
  // The unlabeled pool: photos without an annotation, and annotated ones no ImageSets list names.
  const annotatedImages = new Set([...annotations.values()].map((a) => a.image));
  for (const name of existsSync(imageDir) ? listImageFiles(imageDir, 'JPEGImages') : []) {
    const path = join(imageDir, name);
    const stem = parse(name).name;
    if (!annotatedImages.has(path) || unlisted.has(stem)) items.unlabeled.push({ path, key: stem });
  }

  return writePhotoDataset(
    store,
    opts.prefix,
    {
      name: parse(opts.root).name || 'voc',
      source: `voc-detection:${opts.root}`,
      task: 'detection',
      classNames: ['background', ...classNames],
      seed: opts.seed ?? 0,
    },
    (['labeled', 'val', 'test', 'unlabeled'] as const).map((name) => ({ name, items: items[name] })),
    photoWriteOptions(opts, declared, skipped),
  );
}

function defaultClassNames(annotations: Iterable<VocAnnotation>): string[] {
  const found = new Set<string>();
  for (const a of annotations) for (const o of a.objects) found.add(o.name);
  const voc = VOC_CLASS_NAMES.slice(1);
  return [...found].every((n) => voc.includes(n)) ? voc : [...found].sort();
}

/**
 * The split of each annotated image: the user's `splits`, else ImageSets/Main's lists, else a seeded
 * draw. With lists, annotated images no list names go to the unlabeled pool (VOC ships annotations for
 * images outside its detection splits); a listed id without an annotation is an error naming the list.
 */
function vocSplits(
  opts: IngestVocDetectionOptions, annotations: Map<string, VocAnnotation>, rejected: Set<string>, skipBad: boolean, skipped: SkippedFile[],
): { splitOf: Map<string, LabeledSplit>; unlisted: Set<string> } {
  const listDir = join(opts.root, 'ImageSets', 'Main');
  const lists = new Map<LabeledSplit, string[]>();
  if (!opts.splits && existsSync(listDir)) {
    const read = (name: string) => {
      const path = join(listDir, `${name}.txt`);
      if (!existsSync(path)) return undefined;
      const ids = readFileSync(path, 'utf8').split(/\r?\n/).map((l) => l.trim().split(/\s+/)[0]).filter(Boolean);
      const known = ids.filter((id) => {
        if (annotations.has(id)) return true;
        if (!rejected.has(id)) skipOrThrow(new InputError(path, `lists ${id}, which has no usable Annotations/${id}.xml`), skipBad, skipped);
        return false;
      });
      return known;
    };
    for (const [name, split] of SPLIT_LISTS) {
      const ids = read(name);
      if (ids) lists.set(split, ids);
    }
    const trainval = lists.has('labeled') ? undefined : read('trainval');
    if (trainval) {
      const val = new Set(lists.get('val') ?? []);
      lists.set('labeled', trainval.filter((id) => !val.has(id)));
    }
  }
  if (lists.size > 0) {
    const splits = Object.fromEntries(LABELED_SPLITS.map((s) => [s, lists.get(s) ?? []]));
    const listed = new Set(Object.values(splits).flat());
    const splitOf = assignSplits([...listed], { splits });
    return { splitOf, unlisted: new Set([...annotations.keys()].filter((s) => !listed.has(s))) };
  }
  return { splitOf: assignSplits([...annotations.keys()], opts), unlisted: new Set() };
}
