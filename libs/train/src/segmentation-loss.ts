import { tf } from '@selftrain/compute';

export const IGNORE_LABEL = 255;

/**
 * Per-pixel softmax cross-entropy that skips the ignore label: mean over the non-ignored pixels of the
 * batch (0 when every pixel is ignored), so ignored pixels get exactly zero gradient.
 * logits [B, H, W, K]; labels [B, H, W] int32 class ids 0..K-1 or ignoreLabel.
 */
export function segmentationCrossEntropy(logits: tf.Tensor4D, labels: tf.Tensor3D, opts: { ignoreLabel?: number } = {}): tf.Scalar {
  const ignore = opts.ignoreLabel ?? IGNORE_LABEL;
  const k = logits.shape[3];
  return tf.tidy(() => {
    const lab = tf.cast(labels, 'int32');
    const valid = tf.cast(tf.notEqual(lab, ignore), 'float32');
    const target = tf.oneHot(tf.mul(lab, tf.cast(valid, 'int32')), k);
    const logp = tf.logSoftmax(logits);
    const nll = tf.neg(tf.sum(tf.mul(logp, target), -1));
    return tf.div(tf.sum(tf.mul(nll, valid)), tf.maximum(tf.sum(valid), 1)) as tf.Scalar;
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
