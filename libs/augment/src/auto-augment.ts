// AutoAugment with the published ImageNet policy (Cubuk et al. 2018, "AutoAugment", appendix; the
// same 25 sub-policies torchvision ships as AutoAugmentPolicy.IMAGENET). Not the detection "v0" policy.
// Magnitudes are bin indices 0..9 over the ranges in sample-op.ts (strength = m / 9), as in torchvision.
import type { AugmentStep, OpName } from './augment-step.js';
import type { Rng } from '@selftrain/random';
import { sampleOp } from './sample-op.js';

export type SubPolicyOp = readonly [op: OpName, probability: number, magnitude: number | null];
export type SubPolicy = readonly [SubPolicyOp, SubPolicyOp];

export const AUTOAUGMENT_IMAGENET_POLICY: readonly SubPolicy[] = [
  [['Posterize', 0.4, 8], ['Rotate', 0.6, 9]],
  [['Solarize', 0.6, 5], ['AutoContrast', 0.6, null]],
  [['Equalize', 0.8, null], ['Equalize', 0.6, null]],
  [['Posterize', 0.6, 7], ['Posterize', 0.6, 6]],
  [['Equalize', 0.4, null], ['Solarize', 0.2, 4]],
  [['Equalize', 0.4, null], ['Rotate', 0.8, 8]],
  [['Solarize', 0.6, 3], ['Equalize', 0.6, null]],
  [['Posterize', 0.8, 5], ['Equalize', 1.0, null]],
  [['Rotate', 0.2, 3], ['Solarize', 0.6, 8]],
  [['Equalize', 0.6, null], ['Posterize', 0.4, 6]],
  [['Rotate', 0.8, 8], ['Color', 0.4, 0]],
  [['Rotate', 0.4, 9], ['Equalize', 0.6, null]],
  [['Equalize', 0.0, null], ['Equalize', 0.8, null]],
  [['Invert', 0.6, null], ['Equalize', 1.0, null]],
  [['Color', 0.6, 4], ['Contrast', 1.0, 8]],
  [['Rotate', 0.8, 8], ['Color', 1.0, 2]],
  [['Color', 0.8, 8], ['Solarize', 0.8, 7]],
  [['Sharpness', 0.4, 7], ['Invert', 0.6, null]],
  [['ShearX', 0.6, 5], ['Equalize', 1.0, null]],
  [['Color', 0.4, 0], ['Equalize', 0.6, null]],
  [['Equalize', 0.4, null], ['Solarize', 0.2, 4]],
  [['Solarize', 0.6, 5], ['AutoContrast', 0.6, null]],
  [['Invert', 0.6, null], ['Equalize', 1.0, null]],
  [['Color', 0.6, 4], ['Contrast', 1.0, 8]],
  [['Equalize', 0.8, null], ['Equalize', 0.6, null]],
];

const MAX_BIN = 9;

/** Picks one sub-policy uniformly, then keeps each of its two ops with that op's probability. */
export function sampleAutoAugment(rng: Rng, height: number, width: number): AugmentStep[] {
  const sub = AUTOAUGMENT_IMAGENET_POLICY[rng.int(AUTOAUGMENT_IMAGENET_POLICY.length)];
  const steps: AugmentStep[] = [];
  for (const [op, p, m] of sub) {
    if (rng.bool(p)) steps.push(sampleOp(op, (m ?? 0) / MAX_BIN, height, width, rng));
  }
  return steps;
}
