// Augment-S1..S4 for detection and segmentation: one sampled plan drives the image, its boxes and its
// mask, so every geometric op moves all three together.
import type { AugmentLevel } from './augment-level.js';
import { augmentImage, type AugmentOptions } from './augment-image.js';
import { applyPlan } from './augment-plan.js';
import type { AugmentStep } from './augment-step.js';
import { assertImage, type Image } from './image.js';
import type { Rng } from '@selftrain/random';
import { type Box, type BoxOptions, transformBoxes } from './transform-boxes.js';
import { IGNORE_LABEL } from '@selftrain/metrics';
import { transformMask } from './transform-mask.js';

export interface AnnotatedSample<B extends Box = Box> {
  image: Image;
  /** Normalized to the image size (see Box). */
  boxes?: readonly B[];
  /** HxW class ids, same height and width as the image. */
  mask?: Uint8Array;
}

export interface AugmentedSample<B extends Box = Box> {
  image: Image;
  /** Present when the input had boxes: the survivors, in input order. */
  boxes?: B[];
  /** Present with boxes: keptBoxes[k] is the input index of boxes[k]. */
  keptBoxes?: number[];
  mask?: Uint8Array;
}

export interface AnnotatedOptions extends AugmentOptions, BoxOptions {
  /** Mask value for pixels that come from outside the source (default 255). */
  ignoreLabel?: number;
}

/**
 * Same rng draws and the same image as augmentImage(sample.image, level, rng, opts), so switching a
 * pipeline from images to annotated samples changes nothing for classification; boxes are mapped
 * (corners through each affine step, clipped, hull, dropped below minBoxSide pixels) and the mask is
 * warped nearest-neighbour with ignoreLabel as padding. Never mutates its input.
 */
export function augmentAnnotated<B extends Box>(
  sample: AnnotatedSample<B>,
  level: AugmentLevel,
  rng: Rng,
  opts: AnnotatedOptions = {},
): AugmentedSample<B> {
  const plan: AugmentStep[] = [];
  const image = augmentImage(sample.image, level, rng, { ...opts, trace: plan });
  opts.trace?.push(...plan);
  return { image, ...followPlan(sample, plan, opts) };
}

/** Replays an already sampled plan (e.g. from augmentImage's trace) on an annotated sample. */
export function applyAnnotatedPlan<B extends Box>(
  sample: AnnotatedSample<B>,
  plan: readonly AugmentStep[],
  opts: Pick<AnnotatedOptions, 'fill' | 'ignoreLabel' | 'minBoxSide'> = {},
): AugmentedSample<B> {
  assertImage(sample.image);
  return { image: applyPlan(sample.image, plan, opts.fill ?? 0), ...followPlan(sample, plan, opts) };
}

function followPlan<B extends Box>(
  sample: AnnotatedSample<B>,
  plan: readonly AugmentStep[],
  opts: Pick<AnnotatedOptions, 'ignoreLabel' | 'minBoxSide'>,
): Omit<AugmentedSample<B>, 'image'> {
  const { height, width } = sample.image;
  const out: Omit<AugmentedSample<B>, 'image'> = {};
  if (sample.boxes) {
    const { boxes, kept } = transformBoxes(sample.boxes, plan, height, width, opts);
    out.boxes = boxes;
    out.keptBoxes = kept;
  }
  if (sample.mask) out.mask = transformMask(sample.mask, plan, height, width, opts.ignoreLabel ?? IGNORE_LABEL);
  return out;
}
