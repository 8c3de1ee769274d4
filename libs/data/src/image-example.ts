// One image as one tf.train.Example: PNG pixels plus the features every service reads.
// Feature names follow the TF Object Detection / tfds conventions so other readers recognise them.
import { CorruptDataError, InputError } from '@selftrain/errors';
import { Example, type Feature } from '@selftrain/proto';
import { PNG } from 'pngjs';
import { decodePngFast } from './png-fast-decode';
import { decodeAnnotations, encodeAnnotations, type Annotations } from './annotation-features';

/** Detection (`objects`) and segmentation (`mask`) labels ride along; see annotation-features.ts. */
export interface ImageRecord extends Annotations {
  /** Unique within a dataset; pseudo-labels and hidden labels are joined on it. */
  key: string;
  /** HWC, uint8. */
  image: Uint8Array;
  height: number;
  width: number;
  channels: number;
  /** The source file's size before ingest resized it; absent when ingest kept the size. */
  originalHeight?: number;
  originalWidth?: number;
  /** Class index; absent on the unlabeled split. */
  label?: number;
  /** Soft pseudo-label (teacher softmax), one per class. Stored as float32. */
  probabilities?: Float32Array;
  /** Teacher confidence of a pseudo-label. Stored as float32. */
  confidence?: number;
  /**
   * The PNG as read from a shard. When present, encoding reuses it instead of compressing the pixels
   * again (the labeler copies images into pseudo-label shards unchanged); drop it if you edit `image`.
   */
  encoded?: Uint8Array;
}

export const FEATURE = {
  encoded: 'image/encoded',
  format: 'image/format',
  height: 'image/height',
  width: 'image/width',
  channels: 'image/channels',
  originalHeight: 'image/original_height',
  originalWidth: 'image/original_width',
  key: 'image/key',
  label: 'image/class/label',
  probabilities: 'image/class/probabilities',
  confidence: 'image/class/confidence',
} as const;

// PNG colour type per channel count: grayscale, RGB, RGBA.
const COLOR_TYPE: Record<number, 0 | 2 | 6> = { 1: 0, 3: 2, 4: 6 };

const bytes = (b: Uint8Array): Feature => ({ bytesList: { value: [asBuffer(b)] } });
const int64 = (v: number): Feature => ({ int64List: { value: [v] } });
const floats = (v: ArrayLike<number>): Feature => ({ floatList: { value: Array.from(v) } });

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function isPositiveInt(v: number): boolean {
  return Number.isInteger(v) && v > 0;
}

export function encodeImageExample(rec: ImageRecord): Uint8Array {
  const { height, width, channels } = rec;
  if (typeof rec.key !== 'string' || rec.key === '') throw new InputError('key', 'must be a non-empty string');
  if (!isPositiveInt(height)) throw new InputError('height', `must be a positive integer, got ${height}`);
  if (!isPositiveInt(width)) throw new InputError('width', `must be a positive integer, got ${width}`);
  const colorType = COLOR_TYPE[channels];
  if (colorType === undefined) throw new InputError('channels', `must be 1, 3 or 4, got ${channels}`);
  if (rec.image.length !== height * width * channels) {
    throw new InputError('image', `${rec.image.length} bytes for ${height}x${width}x${channels} (${rec.key})`);
  }
  if (rec.label !== undefined && !(Number.isInteger(rec.label) && rec.label >= 0)) {
    throw new InputError('label', `must be a non-negative integer, got ${rec.label} (${rec.key})`);
  }
  const png = rec.encoded ?? PNG.sync.write(
    { width, height, data: asBuffer(rec.image) } as PNG,
    { colorType, inputColorType: colorType, inputHasAlpha: channels === 4, bitDepth: 8 },
  );
  const feature: Record<string, Feature> = {
    [FEATURE.encoded]: bytes(png),
    [FEATURE.format]: bytes(Buffer.from('png')),
    [FEATURE.height]: int64(height),
    [FEATURE.width]: int64(width),
    [FEATURE.channels]: int64(channels),
    [FEATURE.key]: bytes(Buffer.from(rec.key, 'utf8')),
  };
  if (rec.originalHeight !== undefined) feature[FEATURE.originalHeight] = int64(rec.originalHeight);
  if (rec.originalWidth !== undefined) feature[FEATURE.originalWidth] = int64(rec.originalWidth);
  if (rec.label !== undefined) feature[FEATURE.label] = int64(rec.label);
  if (rec.probabilities !== undefined) feature[FEATURE.probabilities] = floats(rec.probabilities);
  if (rec.confidence !== undefined) feature[FEATURE.confidence] = floats([rec.confidence]);
  encodeAnnotations(rec, height, width, rec.key, feature);
  return Example.encode({ features: { feature } }).finish();
}

function parseExample(buf: Uint8Array, where: string, offset: number): Record<string, Feature> {
  try {
    return Example.decode(buf).features?.feature ?? {};
  } catch (err) {
    throw new CorruptDataError(where, offset, `not a tf.train.Example: ${(err as Error).message}`);
  }
}

/**
 * Decodes what encodeImageExample wrote. `where` (the shard key) and `offset` (the record's byte
 * offset in it) name the record in errors.
 */
export function decodeImageExample(buf: Uint8Array, where: string, offset = 0): ImageRecord {
  const f = parseExample(buf, where, offset);
  const fail = (msg: string): never => {
    throw new CorruptDataError(where, offset, msg);
  };
  const one = <T>(name: string, list: T[] | undefined): T => {
    if (list === undefined || list.length !== 1) fail(`feature ${name} missing or not a single value`);
    return list![0];
  };
  const intOf = (name: string) => one(name, f[name]?.int64List?.value);
  const bytesOf = (name: string) => one(name, f[name]?.bytesList?.value);

  const height = intOf(FEATURE.height);
  const width = intOf(FEATURE.width);
  const channels = intOf(FEATURE.channels);
  const key = bytesOf(FEATURE.key).toString('utf8');
  const encoded = bytesOf(FEATURE.encoded);
  if (f[FEATURE.format] !== undefined) {
    const format = bytesOf(FEATURE.format).toString('utf8');
    if (format !== 'png') fail(`image/format ${format} is not png (${key})`);
  }
  if (!isPositiveInt(height) || !isPositiveInt(width) || COLOR_TYPE[channels] === undefined) {
    fail(`bad shape ${height}x${width}x${channels} (${key})`);
  }

  const fast = decodePngFast(encoded, channels);
  if (fast !== undefined) {
    if (fast.width !== width || fast.height !== height) {
      fail(`PNG is ${fast.height}x${fast.width}, features say ${height}x${width} (${key})`);
    }
    return finishRecord(fast.image);
  }
  let png: PNG;
  try {
    png = PNG.sync.read(encoded);
  } catch (err) {
    return fail(`bad PNG in ${key}: ${(err as Error).message}`);
  }
  if (png.width !== width || png.height !== height) {
    fail(`PNG is ${png.height}x${png.width}, features say ${height}x${width} (${key})`);
  }
  // pngjs always hands back RGBA; keep the channels the record declares.
  const rgba = png.data;
  const n = height * width;
  const image = new Uint8Array(n * channels);
  if (channels === 1) {
    for (let i = 0; i < n; i++) image[i] = rgba[i * 4];
  } else if (channels === 3) {
    for (let i = 0, j = 0; i < n; i++, j += 3) {
      image[j] = rgba[i * 4];
      image[j + 1] = rgba[i * 4 + 1];
      image[j + 2] = rgba[i * 4 + 2];
    }
  } else {
    image.set(rgba.subarray(0, n * 4));
  }

  return finishRecord(image);

  function finishRecord(image: Uint8Array): ImageRecord {
    // A copy, so a record kept for long does not pin the whole shard buffer it was read from.
    const rec: ImageRecord = { key, image, height, width, channels, encoded: Uint8Array.from(encoded) };
    if (f[FEATURE.originalHeight] !== undefined) rec.originalHeight = intOf(FEATURE.originalHeight);
    if (f[FEATURE.originalWidth] !== undefined) rec.originalWidth = intOf(FEATURE.originalWidth);
    if (f[FEATURE.label] !== undefined) rec.label = intOf(FEATURE.label);
    const probs = f[FEATURE.probabilities]?.floatList?.value;
    if (probs !== undefined) rec.probabilities = Float32Array.from(probs);
    if (f[FEATURE.confidence] !== undefined) rec.confidence = one(FEATURE.confidence, f[FEATURE.confidence].floatList?.value);
    Object.assign(rec, decodeAnnotations(f, height, width, key, fail));
    return rec;
  }
}

export type ImageLabels = Pick<ImageRecord, 'key' | 'label' | 'probabilities' | 'confidence'>;

/** Key and label features only, skipping the PNG decode (label statistics, hidden-label joins). */
export function decodeImageExampleLabels(buf: Uint8Array, where: string, offset = 0): ImageLabels {
  const f = parseExample(buf, where, offset);
  const key = f[FEATURE.key]?.bytesList?.value[0];
  if (key === undefined) throw new CorruptDataError(where, offset, `feature ${FEATURE.key} missing`);
  const out: ImageLabels = { key: key.toString('utf8') };
  const label = f[FEATURE.label]?.int64List?.value[0];
  if (label !== undefined) out.label = label;
  const probs = f[FEATURE.probabilities]?.floatList?.value;
  if (probs !== undefined) out.probabilities = Float32Array.from(probs);
  const conf = f[FEATURE.confidence]?.floatList?.value[0];
  if (conf !== undefined) out.confidence = conf;
  return out;
}
