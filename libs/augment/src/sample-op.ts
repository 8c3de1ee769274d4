// Maps an op and a strength in [0, 1] to concrete parameters. Ranges follow the AutoAugment /
// RandAugment papers, in the "strength grows with magnitude" form torchvision uses, so strength 0 is
// always (near) identity:
//   Rotate ±30°; ShearX/Y ±0.3; TranslateX/Y ±(150/331) of the image side; Solarize threshold 256 -> 0;
//   Posterize 8 -> 4 bits; Color/Contrast/Brightness/Sharpness factor 1 ± 0.9 (0.1..1.9);
//   Cutout square side up to 80/224 of the shorter side (the TF codebase's cutout_const 40 at 224 px).
// Signed ops draw their sign from the rng (p 0.5); Cutout draws its centre.
import type { AugmentStep, OpName } from './augment-step.js';
import { rotateMatrix, shearXMatrix, shearYMatrix, translateMatrix } from './geometric-matrices.js';
import type { Rng } from '@selftrain/random';

/** The ops RandAugment draws from (uniformly, with replacement). */
export const RANDAUGMENT_OPS: readonly OpName[] = [
  'Identity',
  'AutoContrast',
  'Equalize',
  'Rotate',
  'Solarize',
  'Color',
  'Posterize',
  'Contrast',
  'Brightness',
  'Sharpness',
  'ShearX',
  'ShearY',
  'TranslateX',
  'TranslateY',
  'Invert',
  'Cutout',
];

const MAX_TRANSLATE = 150 / 331;
const MAX_CUTOUT = 80 / 224;

export function sampleOp(op: OpName, strength: number, height: number, width: number, rng: Rng): AugmentStep {
  const f = Math.max(0, Math.min(1, strength));
  switch (op) {
    case 'Identity':
    case 'AutoContrast':
    case 'Equalize':
    case 'Invert':
      return { kind: 'pixel', op, value: 0 };
    case 'Solarize':
      return { kind: 'pixel', op, value: 256 - 256 * f };
    case 'Posterize':
      return { kind: 'pixel', op, value: 8 - Math.round(4 * f) };
    case 'Color':
    case 'Contrast':
    case 'Brightness':
    case 'Sharpness':
      return { kind: 'pixel', op, value: 1 + signed(rng, 0.9 * f) };
    case 'Rotate': {
      const deg = signed(rng, 30 * f);
      return { kind: 'affine', op, value: deg, matrix: rotateMatrix(deg, height, width) };
    }
    case 'ShearX': {
      const s = signed(rng, 0.3 * f);
      return { kind: 'affine', op, value: s, matrix: shearXMatrix(s, height) };
    }
    case 'ShearY': {
      const s = signed(rng, 0.3 * f);
      return { kind: 'affine', op, value: s, matrix: shearYMatrix(s, width) };
    }
    case 'TranslateX': {
      const dx = signed(rng, MAX_TRANSLATE * f * width);
      return { kind: 'affine', op, value: dx, matrix: translateMatrix(dx, 0) };
    }
    case 'TranslateY': {
      const dy = signed(rng, MAX_TRANSLATE * f * height);
      return { kind: 'affine', op, value: dy, matrix: translateMatrix(0, dy) };
    }
    case 'Cutout': {
      const side = Math.round(MAX_CUTOUT * f * Math.min(height, width));
      const cy = rng.int(height);
      const cx = rng.int(width);
      const y0 = Math.max(0, cy - (side >> 1));
      const x0 = Math.max(0, cx - (side >> 1));
      const y1 = Math.min(height, cy - (side >> 1) + side);
      const x1 = Math.min(width, cx - (side >> 1) + side);
      return { kind: 'cutout', op, value: side, y0, x0, y1, x1 };
    }
  }
}

function signed(rng: Rng, magnitude: number): number {
  return rng.bool() ? -magnitude : magnitude;
}
