// The entry points the student's input pipeline calls.
import type { AugmentLevel } from './augment-level.js';
import { applyPlan, type PlanOptions, sampleAugmentPlan } from './augment-plan.js';
import type { AugmentStep } from './augment-step.js';
import { assertImage, type Image } from './image.js';
import { createRng, type Rng } from '@selftrain/random';

export interface AugmentOptions extends PlanOptions {
  /** Value for pixels uncovered by geometric ops and for Cutout (default 0: Fashion-MNIST's background). */
  fill?: number;
  /** When given, the sampled steps are appended to it (for tests and debugging). */
  trace?: AugmentStep[];
}

/** Same size out as in. Deterministic given the rng state. */
export function augmentImage(img: Image, level: AugmentLevel, rng: Rng, opts: AugmentOptions = {}): Image {
  assertImage(img);
  const fill = opts.fill ?? 0;
  if (!Number.isInteger(fill) || fill < 0 || fill > 255) throw new Error(`fill must be an integer 0..255, got ${fill}`);
  const plan = sampleAugmentPlan(level, img.height, img.width, rng, opts);
  if (opts.trace) opts.trace.push(...plan);
  return applyPlan(img, plan, fill);
}

/** Each image gets its own forked stream of one rng seeded with `seed`. */
export function augmentBatch(
  images: readonly Image[],
  level: AugmentLevel,
  seed: number,
  opts: Omit<AugmentOptions, 'trace'> = {},
): Image[] {
  const rng = createRng(seed);
  return images.map((img) => augmentImage(img, level, rng.fork(), opts));
}
