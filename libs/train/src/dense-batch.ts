import { augmentAnnotated, type Box } from '@selftrain/augment';
import type { Rng } from '@selftrain/random';
import { tf } from '@selftrain/compute';
import type { AnchorSet } from '@selftrain/models';
import { writeModelInput, type AugmentSettings, type ImageShape } from './batch';
import { detectionTargetTensors, type AssignOptions, type DetectionTargetTensors, type GroundTruthBoxes } from './detection-targets';
import { IGNORE_LABEL } from '@selftrain/metrics';
import { masksToLabels } from './segmentation-loss';

/**
 * One detection or segmentation example, in the records' terms (ImageRecord of @selftrain/data passes
 * as it is): a uint8 HWC image at the training shape with its `objects` (normalized corner boxes,
 * 1-based labels, 0 being the background) and/or its `mask` (HxW class ids, 255 = ignore).
 */
export interface DenseExample {
  image: Uint8Array;
  /** Detection: possibly empty (an all-background image). Crowd boxes are left out of training. */
  objects?: readonly Box[];
  /** Segmentation: class ids 0..numClasses-1 or the ignore label. */
  mask?: Uint8Array;
}

export interface DenseBatchOptions {
  /** Seeded augmentation: the same draws as imagesToTensor, boxes and masks moved with the image. */
  augment?: AugmentSettings;
  rng?: Rng;
}

export interface DetectionBatch {
  /** [B, H, W, C] in [0, 1] */
  images: tf.Tensor4D;
  targets: DetectionTargetTensors;
  /** the augmented ground truth, per example (what the targets were assigned from) */
  groundTruth: GroundTruthBoxes[];
}

export interface SegmentationBatch {
  /** [B, H, W, C] in [0, 1] */
  images: tf.Tensor4D;
  /** [B, H, W] int32, ignored pixels (padding from augmentation included) at the ignore label */
  labels: tf.Tensor3D;
}

/** A record's objects as assigner input: crowd boxes dropped (one box over many instances teaches no anchor). */
export function objectsToGroundTruth(objects: readonly Box[]): GroundTruthBoxes {
  const kept = objects.filter((o) => !o.isCrowd);
  return { boxes: kept.flatMap((o) => [o.xmin, o.ymin, o.xmax, o.ymax]), labels: kept.map((o) => o.label) };
}

interface Annotated {
  pixels: Uint8Array;
  objects?: readonly Box[];
  mask?: Uint8Array;
}

function augmentOne(
  ex: DenseExample, i: number, shape: ImageShape, keep: 'objects' | 'mask', opts: DenseBatchOptions & { ignoreLabel?: number },
): Annotated {
  const { height, width, channels } = shape;
  if (ex.image.length !== height * width * channels) {
    throw new Error(`example ${i}: image has ${ex.image.length} bytes, expected ${height}x${width}x${channels}`);
  }
  if (keep === 'mask' && !ex.mask) throw new Error(`example ${i} has no mask`);
  if (keep === 'objects' && !ex.objects) throw new Error(`example ${i} has no objects (give [] for an all-background image)`);
  const a = opts.augment;
  if (!a || a.level === 'none' || !opts.rng) return { pixels: ex.image, objects: ex.objects, mask: ex.mask };
  const out = augmentAnnotated(
    { image: { data: ex.image, height, width, channels }, ...(keep === 'objects' ? { boxes: ex.objects } : { mask: ex.mask }) },
    a.level, opts.rng, { randAugmentN: a.randAugmentN, randAugmentM: a.randAugmentM, ignoreLabel: opts.ignoreLabel ?? IGNORE_LABEL },
  );
  return { pixels: out.image.data, objects: out.boxes, mask: out.mask };
}

function packImages(items: Annotated[], shape: ImageShape): tf.Tensor4D {
  const size = shape.height * shape.width * shape.channels;
  const data = new Float32Array(items.length * size);
  items.forEach((it, b) => writeModelInput(data, b * size, it.pixels, shape));
  return tf.tensor4d(data, [items.length, shape.height, shape.width, shape.channels]);
}

/**
 * Detection examples to tensors: each augmented (seeded, boxes moved, clipped and dropped with the image),
 * packed, and its boxes assigned to the anchors (assignDetectionTargets); an example without boxes is all
 * background. Labels must be 1..numClasses. The caller disposes the tensors.
 */
export function detectionBatch(
  examples: DenseExample[], shape: ImageShape, anchors: AnchorSet, numClasses: number, opts: DenseBatchOptions & { assign?: AssignOptions } = {},
): DetectionBatch {
  const items = examples.map((ex, i) => augmentOne(ex, i, shape, 'objects', opts));
  const groundTruth = items.map((it, i) => {
    const gt = objectsToGroundTruth(it.objects ?? []);
    for (const label of Array.from(gt.labels)) {
      if (!(Number.isInteger(label) && label >= 1 && label <= numClasses)) throw new Error(`example ${i}: box label ${label} is not a class 1..${numClasses}`);
    }
    return gt;
  });
  return { images: packImages(items, shape), targets: detectionTargetTensors(anchors, groundTruth, opts.assign), groundTruth };
}

/**
 * Segmentation examples to tensors: each augmented (seeded; the mask warped nearest-neighbour, padding
 * becoming the ignore label), packed, and the masks checked into int32 labels (masksToLabels). The
 * caller disposes the tensors.
 */
export function segmentationBatch(
  examples: DenseExample[], shape: ImageShape, numClasses: number, opts: DenseBatchOptions & { ignoreLabel?: number } = {},
): SegmentationBatch {
  const items = examples.map((ex, i) => augmentOne(ex, i, shape, 'mask', opts));
  const images = packImages(items, shape);
  try {
    return { images, labels: masksToLabels(items.map((it) => it.mask as Uint8Array), shape.height, shape.width, numClasses, opts.ignoreLabel ?? IGNORE_LABEL) };
  } catch (err) {
    images.dispose();
    throw err;
  }
}
