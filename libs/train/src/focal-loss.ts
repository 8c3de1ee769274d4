import { tf } from '@selftrain/compute';

export interface FocalLossOptions {
  /** weight of the positive class (default 0.25) */
  alpha?: number;
  /** focusing exponent (default 2) */
  gamma?: number;
  /** the sum is divided by max(1, normalizer): RetinaNet uses the number of positive anchors */
  normalizer: number;
}

/**
 * Sigmoid focal loss (Lin et al. 2017): FL = -alpha_t (1 - p_t)^gamma log(p_t), per anchor and class,
 * summed over every anchor that is not ignored, divided by max(1, normalizer).
 * logits [..., K]; classTargets [...] int32 with -1 = ignored, 0 = background (all K targets 0),
 * k >= 1 = class k (target 1 at index k - 1). log(p_t) is the stable binary cross-entropy on logits.
 */
export function sigmoidFocalLoss(logits: tf.Tensor, classTargets: tf.Tensor, opts: FocalLossOptions): tf.Scalar {
  const alpha = opts.alpha ?? 0.25;
  const gamma = opts.gamma ?? 2;
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`focal loss alpha must be in [0, 1], got ${alpha}`);
  if (!(gamma >= 0)) throw new Error(`focal loss gamma must be >= 0, got ${gamma}`);
  const k = logits.shape[logits.shape.length - 1] as number;
  return tf.tidy(() => {
    const ct = tf.cast(classTargets, 'int32');
    const isPositive = tf.expandDims(tf.cast(tf.greater(ct, 0), 'float32'), -1);
    // tf.oneHot needs depth >= 2; a one-class detector's target is just "positive".
    const t = k === 1 ? isPositive : tf.mul(tf.oneHot(tf.maximum(tf.sub(ct, tf.scalar(1, 'int32')), tf.scalar(0, 'int32')) as tf.Tensor, k), isPositive);
    const valid = tf.expandDims(tf.cast(tf.greaterEqual(ct, 0), 'float32'), -1);
    const x = logits;
    const ce = tf.add(tf.sub(tf.relu(x), tf.mul(x, t)), tf.log1p(tf.exp(tf.neg(tf.abs(x)))));
    const p = tf.sigmoid(x);
    // 1 - p_t = p where t = 0, 1 - p where t = 1.
    const oneMinusPt = tf.add(p, tf.mul(t, tf.sub(1, tf.mul(p, 2))));
    const modulator = gamma === 0 ? tf.onesLike(x) : gamma === 2 ? tf.square(oneMinusPt) : tf.pow(oneMinusPt, gamma);
    const alphaT = tf.add(tf.mul(t, 2 * alpha - 1), 1 - alpha);
    const loss = tf.mul(tf.mul(tf.mul(alphaT, modulator), ce), valid);
    return tf.div(tf.sum(loss), Math.max(1, opts.normalizer)) as tf.Scalar;
  });
}
