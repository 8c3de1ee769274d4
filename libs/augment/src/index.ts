export { type Image, createImage, cloneImage, assertImage } from './image.js';
export { type Affine, IDENTITY_AFFINE, composeAffine, invertAffine, applyAffine } from './affine.js';
export {
  rotateMatrix,
  shearXMatrix,
  shearYMatrix,
  translateMatrix,
  scaleMatrix,
  horizontalFlipMatrix,
} from './geometric-matrices.js';
export { type Interpolation, type WarpOptions, warpAffine } from './warp-affine.js';
export { type ScaleJitter, sampleScaleJitter, scaleJitterMatrix } from './scale-jitter.js';
export { applyLut, invert, solarize, posterize } from './lut-ops.js';
export { autoContrast, equalize } from './histogram-ops.js';
export { brightness, contrast, color, sharpness } from './enhance-ops.js';
export { cutout } from './cutout.js';
export type { AugmentStep, OpName, GeometricOpName, PixelOpName } from './augment-step.js';
export { RANDAUGMENT_OPS, sampleOp } from './sample-op.js';
export { applyStep } from './apply-step.js';
export { type SubPolicy, type SubPolicyOp, AUTOAUGMENT_IMAGENET_POLICY, sampleAutoAugment } from './auto-augment.js';
export { RANDAUGMENT_MAX_MAGNITUDE, sampleRandAugment } from './rand-augment.js';
export { type AugmentLevel, AUGMENT_LEVELS, parseAugmentLevel } from './augment-level.js';
export { type PlanOptions, SCALE_JITTER_RANGES, sampleAugmentPlan, applyPlan } from './augment-plan.js';
export { type AugmentOptions, augmentImage, augmentBatch } from './augment-image.js';
export { type Box, type BoxOptions, type TransformedBoxes, transformBoxes } from './transform-boxes.js';
export { transformMask } from './transform-mask.js';
export {
  type AnnotatedSample,
  type AugmentedSample,
  type AnnotatedOptions,
  augmentAnnotated,
  applyAnnotatedPlan,
} from './augment-annotated.js';
