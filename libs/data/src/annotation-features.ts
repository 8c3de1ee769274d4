// Detection and segmentation labels as tf.train.Example features, with the keys the TF Object
// Detection API writes (create_coco_tf_record.py, create_pascal_tf_record.py), so their readers
// and ours read the same records. A record without these keys is a classification record.
import { InputError } from '@selftrain/errors';
import type { Feature } from '@selftrain/proto';
import { decodeMaskPng, encodeMaskPng } from './mask-png';

/** One box; coordinates are fractions of the image width/height, as the TF OD API stores them. */
export interface BoxObject {
  xmin: number;
  ymin: number;
  xmax: number;
  ymax: number;
  /** Contiguous class index (the manifest's category_ids maps it back to the source's id). */
  label: number;
  /** COCO iscrowd: one box over many instances; evaluation matches it last and never counts it. Omitted = false. */
  isCrowd?: boolean;
  /** Area in pixels as the source gives it (COCO: the segment's area), used by AP's size ranges; omitted = the box's. */
  area?: number;
}

export const ANNOTATION_FEATURE = {
  sourceId: 'image/source_id',
  xmin: 'image/object/bbox/xmin',
  ymin: 'image/object/bbox/ymin',
  xmax: 'image/object/bbox/xmax',
  ymax: 'image/object/bbox/ymax',
  objectLabel: 'image/object/class/label',
  isCrowd: 'image/object/is_crowd',
  area: 'image/object/area',
  maskEncoded: 'image/segmentation/class/encoded',
  maskFormat: 'image/segmentation/class/format',
} as const;

export interface Annotations {
  /** The source's image id (COCO image_id), kept for exporting results in the source's terms. */
  sourceId?: string;
  /** Present (possibly empty) on labeled detection records. */
  objects?: BoxObject[];
  /** HxW class ids, 255 = ignore; present on labeled segmentation records. */
  mask?: Uint8Array;
}

const floats = (v: number[]): Feature => ({ floatList: { value: v } });
const ints = (v: number[]): Feature => ({ int64List: { value: v } });
const bytes = (b: Buffer): Feature => ({ bytesList: { value: [b] } });

function checkObject(o: BoxObject, i: number, key: string): void {
  const where = `objects[${i}]`;
  for (const c of ['xmin', 'ymin', 'xmax', 'ymax'] as const) {
    if (!Number.isFinite(o[c]) || o[c] < 0 || o[c] > 1) throw new InputError(`${where}.${c}`, `must be a fraction in [0, 1], got ${o[c]} (${key})`);
  }
  if (o.xmin > o.xmax || o.ymin > o.ymax) throw new InputError(where, `min above max: ${JSON.stringify(o)} (${key})`);
  if (!(Number.isInteger(o.label) && o.label >= 0)) throw new InputError(`${where}.label`, `must be a non-negative integer, got ${o.label} (${key})`);
  if (o.area !== undefined && !(Number.isFinite(o.area) && o.area >= 0)) throw new InputError(`${where}.area`, `must be >= 0, got ${o.area} (${key})`);
}

/** Adds the annotation features of `a` to `feature`; InputError on an inconsistent annotation. */
export function encodeAnnotations(a: Annotations, height: number, width: number, key: string, feature: Record<string, Feature>): void {
  if (a.sourceId !== undefined) feature[ANNOTATION_FEATURE.sourceId] = bytes(Buffer.from(a.sourceId, 'utf8'));
  if (a.objects !== undefined) {
    const objs = a.objects;
    objs.forEach((o, i) => checkObject(o, i, key));
    const withArea = objs.filter((o) => o.area !== undefined).length;
    if (withArea !== 0 && withArea !== objs.length) throw new InputError('objects.area', `given for ${withArea} of ${objs.length} objects; give all or none (${key})`);
    feature[ANNOTATION_FEATURE.xmin] = floats(objs.map((o) => o.xmin));
    feature[ANNOTATION_FEATURE.ymin] = floats(objs.map((o) => o.ymin));
    feature[ANNOTATION_FEATURE.xmax] = floats(objs.map((o) => o.xmax));
    feature[ANNOTATION_FEATURE.ymax] = floats(objs.map((o) => o.ymax));
    feature[ANNOTATION_FEATURE.objectLabel] = ints(objs.map((o) => o.label));
    if (objs.some((o) => o.isCrowd)) feature[ANNOTATION_FEATURE.isCrowd] = ints(objs.map((o) => (o.isCrowd ? 1 : 0)));
    if (withArea > 0) feature[ANNOTATION_FEATURE.area] = floats(objs.map((o) => o.area!));
  }
  if (a.mask !== undefined) {
    if (a.mask.length !== height * width) throw new InputError('mask', `${a.mask.length} values for a ${height}x${width} image (${key})`);
    feature[ANNOTATION_FEATURE.maskEncoded] = bytes(encodeMaskPng(a.mask, height, width));
    feature[ANNOTATION_FEATURE.maskFormat] = bytes(Buffer.from('png'));
  }
}

/** Reads what encodeAnnotations wrote; `fail` throws the caller's CorruptDataError. */
export function decodeAnnotations(f: Record<string, Feature>, height: number, width: number, key: string, fail: (msg: string) => never): Annotations {
  const out: Annotations = {};
  const src = f[ANNOTATION_FEATURE.sourceId]?.bytesList?.value[0];
  if (src !== undefined) out.sourceId = src.toString('utf8');

  const labels = f[ANNOTATION_FEATURE.objectLabel]?.int64List?.value;
  if (labels !== undefined) {
    const n = labels.length;
    const list = (name: string, kind: 'floatList' | 'int64List', required: boolean): number[] | undefined => {
      const v = f[name]?.[kind]?.value;
      if (v === undefined && !required) return undefined;
      if (v === undefined || v.length !== n) fail(`${name} has ${v?.length ?? 'no'} values for ${n} objects (${key})`);
      return v;
    };
    const [x0, y0, x1, y1] = (['xmin', 'ymin', 'xmax', 'ymax'] as const).map((c) => list(ANNOTATION_FEATURE[c], 'floatList', true)!);
    const crowd = list(ANNOTATION_FEATURE.isCrowd, 'int64List', false);
    const area = list(ANNOTATION_FEATURE.area, 'floatList', false);
    out.objects = labels.map((label, i) => {
      const o: BoxObject = { xmin: x0[i], ymin: y0[i], xmax: x1[i], ymax: y1[i], label };
      if (crowd?.[i]) o.isCrowd = true;
      if (area) o.area = area[i];
      return o;
    });
  } else if (f[ANNOTATION_FEATURE.xmin] !== undefined) {
    fail(`${ANNOTATION_FEATURE.xmin} without ${ANNOTATION_FEATURE.objectLabel} (${key})`);
  }

  const maskPng = f[ANNOTATION_FEATURE.maskEncoded]?.bytesList?.value[0];
  if (maskPng !== undefined) {
    const format = f[ANNOTATION_FEATURE.maskFormat]?.bytesList?.value[0]?.toString('utf8') ?? 'png';
    if (format !== 'png') fail(`${ANNOTATION_FEATURE.maskFormat} ${format} is not png (${key})`);
    let m: ReturnType<typeof decodeMaskPng>;
    try {
      m = decodeMaskPng(maskPng);
    } catch (err) {
      return fail(`bad mask PNG in ${key}: ${(err as Error).message}`);
    }
    if (m.height !== height || m.width !== width) fail(`mask is ${m.height}x${m.width}, image ${height}x${width} (${key})`);
    out.mask = m.mask;
  }
  return out;
}
