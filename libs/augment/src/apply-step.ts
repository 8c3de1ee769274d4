// Applies one sampled step to an image. Ops never mutate their input.
import type { AugmentStep } from './augment-step.js';
import { cutout } from './cutout.js';
import { brightness, color, contrast, sharpness } from './enhance-ops.js';
import { autoContrast, equalize } from './histogram-ops.js';
import type { Image } from './image.js';
import { invert, posterize, solarize } from './lut-ops.js';
import { warpAffine } from './warp-affine.js';

export function applyStep(img: Image, step: AugmentStep, fill = 0): Image {
  switch (step.kind) {
    case 'affine':
      return warpAffine(img, step.matrix, { fill, interpolation: 'bilinear' });
    case 'cutout':
      return cutout(img, step.y0, step.x0, step.y1, step.x1, fill);
    case 'pixel':
      switch (step.op) {
        case 'Identity':
          return img;
        case 'AutoContrast':
          return autoContrast(img);
        case 'Equalize':
          return equalize(img);
        case 'Invert':
          return invert(img);
        case 'Solarize':
          return solarize(img, step.value);
        case 'Posterize':
          return posterize(img, step.value);
        case 'Color':
          return color(img, step.value);
        case 'Contrast':
          return contrast(img, step.value);
        case 'Brightness':
          return brightness(img, step.value);
        case 'Sharpness':
          return sharpness(img, step.value);
      }
  }
}
