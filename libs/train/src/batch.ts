import { augmentImage } from '@selftrain/augment';
import type { Rng } from '@selftrain/random';
import { tf } from '@selftrain/compute';
import type { AugmentLevel } from './train-options';

export interface ImageShape {
  height: number;
  width: number;
  channels: number;
  /**
   * Per-channel mean and standard deviation on the 0..1 scale (the dataset manifest's channel_mean and
   * channel_std): the models see (pixel / 255 - mean) / std. Absent or empty: pixel / 255, as every
   * dataset written before ingest computed them.
   */
  mean?: readonly number[];
  std?: readonly number[];
}

/** Whether a shape carries a normalisation (both lists, one value per channel). */
export function isNormalized(shape: ImageShape): boolean {
  return !!shape.mean?.length && !!shape.std?.length;
}

/**
 * The one place uint8 pixels become model input: writes `pixels` (HWC) at `offset` of `out`, as pixel / 255,
 * then (x - mean) / std per channel when the shape is normalised. Training, labeling, evaluation and
 * predict all pack their batches through it, so they cannot disagree on the scale.
 */
export function writeModelInput(out: Float32Array, offset: number, pixels: Uint8Array, shape: ImageShape): void {
  const size = shape.height * shape.width * shape.channels;
  if (!isNormalized(shape)) {
    for (let j = 0; j < size; j++) out[offset + j] = pixels[j] / 255;
    return;
  }
  const table = inputTable(shape);
  const C = shape.channels;
  for (let j = 0; j < size; j++) out[offset + j] = table[(j % C) * 256 + pixels[j]];
}

/** (v / 255 - mean[c]) / std[c] for every byte v and channel c, cached per normalisation. */
const tables = new Map<string, Float32Array>();
function inputTable(shape: ImageShape): Float32Array {
  const { channels: C, mean, std } = shape;
  if (mean!.length !== C || std!.length !== C) throw new Error(`normalisation has ${mean!.length} means and ${std!.length} stds for ${C} channel(s)`);
  const id = `${mean!.join(',')}/${std!.join(',')}`;
  let table = tables.get(id);
  if (!table) {
    table = new Float32Array(C * 256);
    for (let c = 0; c < C; c++) {
      if (!(std![c] > 0)) throw new Error(`channel ${c} has standard deviation ${std![c]}; it must be > 0`);
      for (let v = 0; v < 256; v++) table[c * 256 + v] = (v / 255 - mean![c]) / std![c];
    }
    if (tables.size > 16) tables.clear();
    tables.set(id, table);
  }
  return table;
}

/** One training example: a uint8 HWC image and either a class id or a full target distribution. */
export interface Example {
  image: Uint8Array;
  label: number;
  probabilities?: Float32Array;
}

export interface AugmentSettings {
  level: AugmentLevel;
  randAugmentN: number;
  randAugmentM: number;
}

/** Augments each image (seeded) and packs the batch as a [B,H,W,C] float tensor (writeModelInput's scale). */
export function imagesToTensor(examples: { image: Uint8Array }[], shape: ImageShape, augment?: AugmentSettings, rng?: Rng): tf.Tensor4D {
  const { height, width, channels } = shape;
  const size = height * width * channels;
  const data = new Float32Array(examples.length * size);
  examples.forEach((ex, i) => {
    let pixels = ex.image;
    if (augment && augment.level !== 'none' && rng) {
      pixels = augmentImage({ data: ex.image, height, width, channels }, augment.level, rng, {
        randAugmentN: augment.randAugmentN, randAugmentM: augment.randAugmentM,
      }).data;
    }
    writeModelInput(data, i * size, pixels, shape);
  });
  return tf.tensor4d(data, [examples.length, height, width, channels]);
}

/** One-hot rows for hard labels, the distribution itself for soft ones. */
export function targetsToTensor(examples: Example[], numClasses: number): tf.Tensor2D {
  const data = new Float32Array(examples.length * numClasses);
  examples.forEach((ex, i) => {
    if (ex.probabilities) data.set(ex.probabilities.subarray(0, numClasses), i * numClasses);
    else data[i * numClasses + ex.label] = 1;
  });
  return tf.tensor2d(data, [examples.length, numClasses]);
}
