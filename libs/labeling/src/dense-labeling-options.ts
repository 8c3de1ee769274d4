import { IGNORE_LABEL } from '@selftrain/data';
import { InputError } from '@selftrain/errors';
import { MULTI_SCALE_SCALES } from '@selftrain/models';
import { LABELING_OPTIONS, resolveOption, type NumberOption } from '@selftrain/options';

export type NmsMethod = 'nms' | 'soft-nms';

/**
 * The labeler's own detection settings, not on the wire (the requests choose between NMS and Soft-NMS):
 * hard-NMS IoU, Soft-NMS sigma, detections per image after NMS.
 */
const DETECTION_SETTINGS = {
  iouThreshold: { type: 'number', min: 0, max: 1, default: 0.5 } as NumberOption,
  softNmsSigma: { type: 'number', min: 0.001, max: 100, default: 0.3 } as NumberOption,
  maxDetections: { type: 'number', integer: true, min: 1, max: 10_000, default: 100 } as NumberOption,
};

/** Detection pseudo-labeling options; a field left out takes its default (LABELING_OPTIONS' for detection). */
export interface DetectionLabelingOptions {
  /** A box is kept when its score after NMS is >= this. */
  threshold?: number;
  /** 'nms' (default) or Gaussian 'soft-nms' (the paper's strongest setting). */
  nms?: NmsMethod;
  /** Hard-NMS IoU threshold (default 0.5). */
  iouThreshold?: number;
  /** Soft-NMS sigma (default 0.3). */
  softNmsSigma?: number;
  /** An image without a kept box is left out (true) or written as all background (false, default). */
  dropEmptyImages?: boolean;
  /** Detections per image after NMS (default 100). */
  maxDetections?: number;
  batchSize?: number;
}

export type ResolvedDetectionLabelingOptions = Required<DetectionLabelingOptions>;

export function resolveDetectionLabelingOptions(o: DetectionLabelingOptions = {}): ResolvedDetectionLabelingOptions {
  const nms = o.nms ?? 'nms';
  if (nms !== 'nms' && nms !== 'soft-nms') throw new InputError('options.nms', `must be nms or soft-nms, got ${JSON.stringify(nms)}`);
  return {
    threshold: resolveOption(LABELING_OPTIONS.threshold, o.threshold, 'options.threshold', 'detection'),
    nms,
    iouThreshold: resolveOption(DETECTION_SETTINGS.iouThreshold, o.iouThreshold, 'options.iou_threshold'),
    softNmsSigma: resolveOption(DETECTION_SETTINGS.softNmsSigma, o.softNmsSigma, 'options.soft_nms_sigma'),
    dropEmptyImages: o.dropEmptyImages ?? false,
    maxDetections: resolveOption(DETECTION_SETTINGS.maxDetections, o.maxDetections, 'options.max_detections'),
    batchSize: resolveOption(LABELING_OPTIONS.batchSize, o.batchSize, 'options.batch_size', 'detection'),
  };
}

/** Segmentation pseudo-labeling options; a field left out takes its default (LABELING_OPTIONS' for segmentation). */
export interface SegmentationLabelingOptions {
  /** A pixel keeps its argmax class when the averaged probability is >= this; else ignore. */
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

/** The mask value of ignored pixels: the manifest's, else the data lib's. */
const IGNORE_LABEL_OPTION: NumberOption = { type: 'number', integer: true, min: 1, max: 255, default: IGNORE_LABEL };

export function resolveSegmentationLabelingOptions(o: SegmentationLabelingOptions = {}): ResolvedSegmentationLabelingOptions {
  const scales = o.scales && o.scales.length > 0 ? [...o.scales] : [...MULTI_SCALE_SCALES];
  scales.forEach((s, i) => {
    if (!(Number.isFinite(s) && s > 0 && s <= 8)) throw new InputError(`options.scales[${i}]`, `must be in (0, 8], got ${s}`);
  });
  return {
    threshold: resolveOption(LABELING_OPTIONS.threshold, o.threshold, 'options.threshold', 'segmentation'),
    scales,
    // A manifest's 0 is proto3's unset (0 is the background class, never the ignore label).
    ignoreLabel: resolveOption(IGNORE_LABEL_OPTION, o.ignoreLabel || undefined, 'options.ignore_label'),
    batchSize: resolveOption(LABELING_OPTIONS.batchSize, o.batchSize, 'options.batch_size', 'segmentation'),
  };
}
