// FlipCrop / scale jitter (the paper's Augment-S1 geometry): optional horizontal flip, resize to
// scale * target size, then crop (scaled image larger) or pad (smaller) back to the target size at a
// random integer offset. Expressed as one affine matrix so boxes and masks can follow the image.
import { type Affine, composeAffine } from './affine.js';
import { horizontalFlipMatrix, scaleMatrix, translateMatrix } from './geometric-matrices.js';
import type { Rng } from '@selftrain/random';

export interface ScaleJitter {
  flip: boolean;
  scale: number;
  /** Size of the resized image: round(scale * target), at least 1. */
  scaledHeight: number;
  scaledWidth: number;
  /**
   * Where the resized image's top-left corner lands in the output. Negative: crop starting at
   * -offset inside the resized image. Positive: pad, the resized image sits at that offset.
   */
  offsetY: number;
  offsetX: number;
}

/**
 * Draws, in this order: flip (p = flipProbability), scale (uniform in range), offsetY, offsetX (each
 * uniform over the integers between 0 and target - scaled, inclusive).
 */
export function sampleScaleJitter(
  rng: Rng,
  height: number,
  width: number,
  range: readonly [min: number, max: number],
  flipProbability = 0.5,
): ScaleJitter {
  const flip = rng.bool(flipProbability);
  const scale = rng.uniform(range[0], range[1]);
  const scaledHeight = Math.max(1, Math.round(scale * height));
  const scaledWidth = Math.max(1, Math.round(scale * width));
  return {
    flip,
    scale,
    scaledHeight,
    scaledWidth,
    offsetY: sampleOffset(rng, height - scaledHeight),
    offsetX: sampleOffset(rng, width - scaledWidth),
  };
}

function sampleOffset(rng: Rng, slack: number): number {
  const lo = Math.min(0, slack);
  return lo + rng.int(Math.abs(slack) + 1);
}

/** Forward matrix of a jitter for an input of height x width (the target size is the input size). */
export function scaleJitterMatrix(j: ScaleJitter, height: number, width: number): Affine {
  let m = j.flip ? horizontalFlipMatrix(width) : ([1, 0, 0, 0, 1, 0] as Affine);
  m = composeAffine(m, scaleMatrix(j.scaledWidth / width, j.scaledHeight / height));
  return composeAffine(m, translateMatrix(j.offsetX, j.offsetY));
}
