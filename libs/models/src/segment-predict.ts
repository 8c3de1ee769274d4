import { tf } from '@selftrain/compute';

/** The scales of multi-scale inference (DeepLab / the paper's segmentation evaluation). */
export const MULTI_SCALE_SCALES: readonly number[] = [0.5, 0.75, 1, 1.25, 1.5, 1.75];

/**
 * Per-pixel class probabilities [B, H, W, K] at the input's size, inference mode (batch norm on its
 * moving statistics). The caller disposes the result.
 */
export function predictSegmentation(model: tf.LayersModel, images: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.softmax(model.predict(images) as tf.Tensor4D) as tf.Tensor4D);
}

/**
 * Multi-scale inference: for each scale, resize the images (bilinear, half-pixel centres), predict,
 * resize the probabilities back to the image size bilinearly, and average over scales. Returns
 * [B, H, W, K] probabilities (rows still sum to 1). Scales must be > 0; sizes round to whole pixels (at
 * least 32, the model's coarsest stride).
 */
export function predictSegmentationMultiScale(
  model: tf.LayersModel, images: tf.Tensor4D, scales: readonly number[] = MULTI_SCALE_SCALES,
): tf.Tensor4D {
  if (scales.length === 0 || scales.some((s) => !(s > 0))) throw new Error(`scales must be positive numbers, got [${scales.join(', ')}]`);
  const [, h, w] = images.shape;
  return tf.tidy(() => {
    let sum: tf.Tensor4D | undefined;
    for (const s of scales) {
      const size: [number, number] = [Math.max(32, Math.round(h * s)), Math.max(32, Math.round(w * s))];
      const probs = tf.tidy(() => {
        const x = size[0] === h && size[1] === w ? images : tf.image.resizeBilinear(images, size, false, true);
        const p = predictSegmentation(model, x);
        return size[0] === h && size[1] === w ? p : tf.image.resizeBilinear(p, [h, w], false, true);
      });
      const next: tf.Tensor4D = sum == null ? probs : tf.add(sum, probs);
      if (sum != null) { sum.dispose(); probs.dispose(); }
      sum = next;
    }
    return tf.div(sum as tf.Tensor4D, scales.length) as tf.Tensor4D;
  });
}
