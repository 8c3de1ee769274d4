import { tf } from '@selftrain/compute';
import { boxRegressionLoss } from './box-regression-loss';
import type { DetectionTargetTensors } from './detection-targets';
import { sigmoidFocalLoss } from './focal-loss';

export interface DetectionLossOptions {
  alpha?: number;
  gamma?: number;
  /** smooth-L1 beta (see boxRegressionLoss) */
  beta?: number;
  /** weight of the box loss in the total (default 1) */
  boxWeight?: number;
}

export interface DetectionLoss {
  total: tf.Scalar;
  classification: tf.Scalar;
  box: tf.Scalar;
}

/**
 * RetinaNet's loss for a batch: focal loss over all non-ignored anchors plus smooth-L1 on the positives,
 * both normalized by the batch's number of positive anchors. outputs = the detector's [classLogits, boxDeltas].
 */
export function retinaNetLoss(outputs: tf.Tensor[], targets: DetectionTargetTensors, opts: DetectionLossOptions = {}): DetectionLoss {
  const [classLogits, boxDeltas] = outputs;
  const classification = sigmoidFocalLoss(classLogits, targets.classTargets, { alpha: opts.alpha, gamma: opts.gamma, normalizer: targets.numPositives });
  const box = boxRegressionLoss(boxDeltas, targets.boxTargets, targets.classTargets, { beta: opts.beta, normalizer: targets.numPositives });
  const total = tf.tidy(() => tf.add(classification, tf.mul(box, opts.boxWeight ?? 1)) as tf.Scalar);
  return { total, classification, box };
}
