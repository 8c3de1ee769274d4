import { augmentImage } from '@selftrain/augment';
import type { Rng } from '@selftrain/random';
import { tf } from '@selftrain/compute';
import type { AugmentLevel } from './train-options';

export interface ImageShape {
  height: number;
  width: number;
  channels: number;
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

/** Augments each image (seeded) and packs the batch as a [B,H,W,C] float tensor in [0, 1]. */
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
    const offset = i * size;
    for (let j = 0; j < size; j++) data[offset + j] = pixels[j] / 255;
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
