// RandAugment (Cubuk et al. 2019): N ops drawn uniformly with replacement from RANDAUGMENT_OPS, each
// applied at the shared magnitude M. M uses the 0..10 scale of the reference TF code (_MAX_LEVEL = 10;
// timm's "rand-m9-n2" is M = 9); values are clamped to [0, 10].
import type { AugmentStep } from './augment-step.js';
import type { Rng } from '@selftrain/random';
import { RANDAUGMENT_OPS, sampleOp } from './sample-op.js';

export const RANDAUGMENT_MAX_MAGNITUDE = 10;

export function sampleRandAugment(rng: Rng, height: number, width: number, n: number, m: number): AugmentStep[] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`randAugmentN must be a non-negative integer, got ${n}`);
  if (!Number.isFinite(m) || m < 0) throw new Error(`randAugmentM must be a number >= 0, got ${m}`);
  const strength = Math.min(m, RANDAUGMENT_MAX_MAGNITUDE) / RANDAUGMENT_MAX_MAGNITUDE;
  const steps: AugmentStep[] = [];
  for (let i = 0; i < n; i++) {
    const op = RANDAUGMENT_OPS[rng.int(RANDAUGMENT_OPS.length)];
    steps.push(sampleOp(op, strength, height, width, rng));
  }
  return steps;
}
