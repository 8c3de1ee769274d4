// Level -> list of sampled steps, and replaying those steps on an image. The plan depends only on the
// level, the image size and the rng, never on pixel values, so boxes and masks can share it.
import type { AugmentLevel } from './augment-level.js';
import type { AugmentStep } from './augment-step.js';
import { applyStep } from './apply-step.js';
import { sampleAutoAugment } from './auto-augment.js';
import type { Image } from './image.js';
import { sampleRandAugment } from './rand-augment.js';
import type { Rng } from '@selftrain/random';
import { sampleScaleJitter, scaleJitterMatrix } from './scale-jitter.js';

export interface PlanOptions {
  /** RandAugment op count (s4). Default 2. */
  randAugmentN?: number;
  /** RandAugment magnitude on the 0..10 scale (s4). Default 9. */
  randAugmentM?: number;
}

/** Scale-jitter range per level: S1/S2 resize to 0.8..1.2 of the target, S3/S4 to 0.5..2.0. */
export const SCALE_JITTER_RANGES: Readonly<Record<Exclude<AugmentLevel, 'none'>, readonly [number, number]>> = {
  s1: [0.8, 1.2],
  s2: [0.8, 1.2],
  s3: [0.5, 2.0],
  s4: [0.5, 2.0],
};

/** Policy ops first (AutoAugment for s2/s3, RandAugment for s4), then flip + scale jitter. */
export function sampleAugmentPlan(
  level: AugmentLevel,
  height: number,
  width: number,
  rng: Rng,
  opts: PlanOptions = {},
): AugmentStep[] {
  if (level === 'none') return [];
  const steps: AugmentStep[] =
    level === 's1'
      ? []
      : level === 's4'
        ? sampleRandAugment(rng, height, width, opts.randAugmentN ?? 2, opts.randAugmentM ?? 9)
        : sampleAutoAugment(rng, height, width);
  const jitter = sampleScaleJitter(rng, height, width, SCALE_JITTER_RANGES[level]);
  steps.push({
    kind: 'affine',
    op: 'FlipScaleJitter',
    value: jitter.scale,
    matrix: scaleJitterMatrix(jitter, height, width),
    jitter,
  });
  return steps;
}

/** Always returns a new image, even for an empty plan. */
export function applyPlan(img: Image, plan: readonly AugmentStep[], fill = 0): Image {
  let out = img;
  for (const step of plan) out = applyStep(out, step, fill);
  if (out === img) out = { data: img.data.slice(), height: img.height, width: img.width, channels: img.channels };
  return out;
}
