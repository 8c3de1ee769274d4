import { tf } from '@selftrain/compute';

export interface BoxLossOptions {
  /** smooth-L1 transition point; 0 gives plain L1 (default 0.11, Detectron's RetinaNet) */
  beta?: number;
  /** the sum is divided by max(1, normalizer): the number of positive anchors */
  normalizer: number;
}

/**
 * Smooth-L1 box regression loss over positive anchors only (classTargets > 0), summed over the 4 deltas
 * and divided by max(1, normalizer). deltas and boxTargets [..., 4]; classTargets [...] (see focal loss).
 */
export function boxRegressionLoss(deltas: tf.Tensor, boxTargets: tf.Tensor, classTargets: tf.Tensor, opts: BoxLossOptions): tf.Scalar {
  const beta = opts.beta ?? 0.11;
  if (!(beta >= 0)) throw new Error(`smooth-L1 beta must be >= 0, got ${beta}`);
  return tf.tidy(() => {
    const positive = tf.expandDims(tf.cast(tf.greater(classTargets, 0), 'float32'), -1);
    const d = tf.sub(deltas, boxTargets);
    const ad = tf.abs(d);
    // 0.5 m^2 / beta + (|d| - m) with m = min(|d|, beta): smooth L1 without a comparison (no gradient op).
    const m = tf.minimum(ad, beta);
    const perCoord = beta === 0 ? ad : tf.add(tf.mul(tf.square(m), 0.5 / beta), tf.sub(ad, m));
    return tf.div(tf.sum(tf.mul(perCoord, positive)), Math.max(1, opts.normalizer)) as tf.Scalar;
  });
}
