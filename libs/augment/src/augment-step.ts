// One sampled, fully parameterised op. Sampling (which ops, what magnitudes, which offsets) is
// separated from applying, so the same steps are replayed on boxes and masks (transform-boxes.ts,
// transform-mask.ts): an 'affine' step moves them by `matrix`, 'pixel' and 'cutout' steps leave them alone.
import type { Affine } from './affine.js';
import type { ScaleJitter } from './scale-jitter.js';

export type GeometricOpName = 'Rotate' | 'ShearX' | 'ShearY' | 'TranslateX' | 'TranslateY';
export type PixelOpName =
  | 'Identity'
  | 'AutoContrast'
  | 'Equalize'
  | 'Solarize'
  | 'Color'
  | 'Posterize'
  | 'Contrast'
  | 'Brightness'
  | 'Sharpness'
  | 'Invert';
export type OpName = GeometricOpName | PixelOpName | 'Cutout';

export type AugmentStep =
  | {
      kind: 'affine';
      op: GeometricOpName | 'FlipScaleJitter';
      /** Degrees (Rotate), shear factor, or translation in pixels; the scale for FlipScaleJitter. */
      value: number;
      /** Forward matrix, input -> output continuous pixel coordinates. */
      matrix: Affine;
      /** Set on FlipScaleJitter steps. */
      jitter?: ScaleJitter;
    }
  | {
      kind: 'pixel';
      op: PixelOpName;
      /** Threshold (Solarize), bits (Posterize), enhance factor (Color..Sharpness); 0 when unused. */
      value: number;
    }
  | {
      kind: 'cutout';
      op: 'Cutout';
      /** Side of the square in pixels, before clipping. */
      value: number;
      y0: number;
      x0: number;
      y1: number;
      x1: number;
    };
