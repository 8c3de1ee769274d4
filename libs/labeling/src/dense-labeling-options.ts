import { IGNORE_LABEL } from '@selftrain/data';
import { InputError, numberOr } from '@selftrain/errors';
import { MULTI_SCALE_SCALES } from '@selftrain/models';

export type NmsMethod = 'nms' | 'soft-nms';

/** Detection pseudo-labeling options; a field left out (or 0, as proto3 sends "unset") takes its default. */
export interface DetectionLabelingOptions {
  /** A box is kept when its score after NMS is >= this (default 0.5). */
  threshold?: number;
  /** 'nms' (default) or Gaussian 'soft-nms' (the paper's strongest setting). */
  nms?: NmsMethod;
  /** Hard-NMS IoU threshold (default 0.5). */
  iouThreshold?: number;
  /** Soft-NMS sigma (default 0.3). */
  softNmsSigma?: number;
  /** An image without a kept box is written as all background (true, default) or left out (false). */
  keepEmptyImages?: boolean;
  /** Detections per image after NMS (default 100). */
  maxDetections?: number;
  batchSize?: number;
}

export type ResolvedDetectionLabelingOptions = Required<DetectionLabelingOptions>;

export function resolveDetectionLabelingOptions(o: DetectionLabelingOptions = {}): ResolvedDetectionLabelingOptions {
  const nms = o.nms ?? 'nms';
  if (nms !== 'nms' && nms !== 'soft-nms') throw new InputError('options.nms', `must be nms or soft-nms, got ${JSON.stringify(nms)}`);
  return {
    threshold: numberOr(o.threshold, 0.5, 'options.threshold', { min: 0, max: 1 }),
    nms,
    iouThreshold: numberOr(o.iouThreshold, 0.5, 'options.iou_threshold', { min: 0, max: 1 }),
    softNmsSigma: numberOr(o.softNmsSigma, 0.3, 'options.soft_nms_sigma', { min: 0.001, max: 100 }),
    keepEmptyImages: o.keepEmptyImages ?? true,
    maxDetections: numberOr(o.maxDetections, 100, 'options.max_detections', { integer: true, min: 1, max: 10_000 }),
    batchSize: numberOr(o.batchSize, 16, 'options.batch_size', { integer: true, min: 1, max: 4096 }),
  };
}

/** Segmentation pseudo-labeling options; a field left out (or 0) takes its default. */
export interface SegmentationLabelingOptions {
  /** A pixel keeps its argmax class when the averaged probability is >= this (default 0.5); else ignore. */
  threshold?: number;
  /** Multi-scale inference scales (default 0.5, 0.75, 1, 1.25, 1.5, 1.75). */
  scales?: readonly number[];
  /** The mask value of ignored pixels: the manifest's ignore_label (default 255). */
  ignoreLabel?: number;
  batchSize?: number;
}

export interface ResolvedSegmentationLabelingOptions {
  threshold: number;
  scales: number[];
  ignoreLabel: number;
  batchSize: number;
}

export function resolveSegmentationLabelingOptions(o: SegmentationLabelingOptions = {}): ResolvedSegmentationLabelingOptions {
  const scales = o.scales && o.scales.length > 0 ? [...o.scales] : [...MULTI_SCALE_SCALES];
  scales.forEach((s, i) => {
    if (!(Number.isFinite(s) && s > 0 && s <= 8)) throw new InputError(`options.scales[${i}]`, `must be in (0, 8], got ${s}`);
  });
  return {
    threshold: numberOr(o.threshold, 0.5, 'options.threshold', { min: 0, max: 1 }),
    scales,
    ignoreLabel: numberOr(o.ignoreLabel, IGNORE_LABEL, 'options.ignore_label', { integer: true, min: 1, max: 255 }),
    // Six scales up to 1.75x make a batch ~10x the work of one plain forward pass: keep batches small.
    batchSize: numberOr(o.batchSize, 4, 'options.batch_size', { integer: true, min: 1, max: 1024 }),
  };
}
