import type { tf } from '@selftrain/compute';
import type { ScoredBox } from '@selftrain/metrics';
import { predictSegmentation, predictSegmentationMultiScale, type AnchorSet } from '@selftrain/models';
import { detect, type DecodeDetectionsOptions } from './decode-detections';
import { forEachImageBatch, type SizedImage } from './image-batches';

/** A batch of images in, each image's detections out (after NMS, 1-based labels, normalized corners). */
export type DetectFn = (images: tf.Tensor4D) => Promise<ScoredBox[][]>;

/** A batch of images in, per-pixel class probabilities [B, H, W, K] at the images' size out (the caller disposes); a user's ONNX model answers asynchronously. */
export type SegmentationPredictFn = (images: tf.Tensor4D) => tf.Tensor4D | Promise<tf.Tensor4D>;

/**
 * A RetinaNet as a DetectFn: inference-mode forward, decoded against `anchors` (retinaNetAnchors of the
 * spec it was built from), then NMS or Soft-NMS. The defaults are the paper's inference settings (score
 * >= 0.05, top 1000 per level, NMS at IoU 0.5, 100 per image), which evaluation and training's validation
 * use; the labeler passes its own. Does not dispose `images`.
 */
export function retinaNetDetector(model: tf.LayersModel, anchors: AnchorSet, opts: DecodeDetectionsOptions = {}): DetectFn {
  return (images) => detect(model, images, anchors, opts);
}

/**
 * A segmenter as a SegmentationPredictFn: single-scale softmax by default (evaluation, training's
 * validation), or the probabilities averaged over `scales` (the labeler: MULTI_SCALE_SCALES).
 */
export function segmentationPredictor(model: tf.LayersModel, scales: readonly number[] = [1]): SegmentationPredictFn {
  return scales.length === 1 && scales[0] === 1
    ? (images) => predictSegmentation(model, images)
    : (images) => predictSegmentationMultiScale(model, images, scales);
}

/**
 * Runs a segmenter over records in batches (forEachImageBatch) and hands `fn` each batch's probabilities,
 * row-major [count, H, W, numClasses], checked against the batch's shape and the class count.
 */
export async function forEachSegmentationBatch(
  records: readonly SizedImage[], predict: SegmentationPredictFn, numClasses: number, batchSize: number,
  fn: (probabilities: Float32Array, start: number, count: number) => void,
): Promise<void> {
  await forEachImageBatch(records, batchSize, async (images, start, count) => {
    const probs = await predict(images);
    let data: Float32Array;
    try {
      const [b, h, w, k] = probs.shape;
      if (b !== count || h !== images.shape[1] || w !== images.shape[2] || k !== numClasses) {
        throw new Error(`the segmenter gave [${probs.shape.join(', ')}] for ${count} images of ${images.shape[1]}x${images.shape[2]} and ${numClasses} classes`);
      }
      data = (await probs.data()) as Float32Array;
    } finally {
      probs.dispose();
    }
    fn(data, start, count);
  });
}
