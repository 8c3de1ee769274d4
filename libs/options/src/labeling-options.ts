import type { BooleanOption, NumberOption, Option } from './option';

/**
 * LabelingOptions, keyed by the name of the resolved option. Classification defaults are the papers':
 * hard labels at confidence >= 0.5, Noisy Student balancing above 0.3. Detection keeps boxes at >= 0.4
 * after Soft-NMS and drops images without a box (the measurements are TRAIN_OPTIONS' comment's).
 */
export const LABELING_OPTIONS = {
  threshold: { spec: 'threshold', proto: 'threshold', type: 'number', min: 0, max: 1, default: 0.5, by: { detection: 0.4 } } as NumberOption,
  soft: { spec: 'soft', proto: 'soft', type: 'boolean', default: false } as BooleanOption,
  /** Soft labels: softmax temperature on the teacher's logits (< 1 sharpens). */
  temperature: { spec: 'temperature', proto: 'temperature', type: 'number', min: 0.05, max: 20, default: 1 } as NumberOption,
  /**
   * Noisy Student class balancing, on in a classification run. On the wire a proto3 bool (false when
   * unset): the run spec's default is what a run sends.
   */
  balance: { spec: 'balance', proto: 'balance', type: 'boolean', default: true, by: { detection: false, segmentation: false } } as BooleanOption,
  /** At most this many records per class (0 in a spec: the unlabeled set's size over the class count). */
  perClassCap: { spec: 'per_class_cap', proto: 'perClassCap', type: 'number', integer: true, min: 0, max: 10_000_000, default: 0 } as NumberOption,
  balanceMinConfidence: { spec: 'balance_min_confidence', proto: 'balanceMinConfidence', type: 'number', min: 0, max: 1, default: 0.3 } as NumberOption,
  /** The driver's: labeling calls in flight per labeler replica. */
  concurrency: { spec: 'concurrency', type: 'number', integer: true, min: 1, max: 64, default: 2 } as NumberOption,
  /** The driver's guard: stop before the student when the teacher kept less than this fraction. */
  minKeptFraction: { spec: 'min_kept_fraction', type: 'number', min: 0, max: 1, default: 0.01 } as NumberOption,
  /** Detection: Gaussian Soft-NMS (sigma 0.3) instead of NMS (IoU 0.5) before the score threshold. */
  softNms: { spec: 'soft_nms', proto: 'softNms', type: 'boolean', default: false, by: { detection: true } } as BooleanOption,
  /** Detection: leave out images with no kept box (else they are written as all background). */
  dropEmptyImages: { spec: 'drop_empty_images', proto: 'dropEmptyImages', type: 'boolean', default: false, by: { detection: true } } as BooleanOption,
  /**
   * Images per inference batch; the labeler's own, not the spec's (it changes speed, never labels).
   * Classification: 32 to 256 run at the same img/s on the native kernels (3,850-3,990 img/s), and the
   * labeler yields to its event loop between batches: at 64 (~17 ms a batch) the next shard's fetch and
   * decode keep up with this one's inference; at 256 they fell ~120 ms behind every other shard.
   */
  batchSize: { proto: 'batchSize', type: 'number', integer: true, min: 1, max: 4096, default: 64, by: { detection: 16, segmentation: 16 } } as NumberOption,
} satisfies Record<string, Option>;
