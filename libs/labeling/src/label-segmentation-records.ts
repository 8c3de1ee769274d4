import type { tf } from '@selftrain/compute';
import { forEachImageBatch } from '@selftrain/train';
import type { ImageRecord } from '@selftrain/data';
import { MULTI_SCALE_SCALES, predictSegmentationMultiScale } from '@selftrain/models';
import type { ResolvedSegmentationLabelingOptions } from './dense-labeling-options';
import {
  mergeSegmentationLabelStats, pseudoMaskRecord, segmentationLabelStats, selectPseudoMask,
  type SegmentationLabelStats, type SegmentationPseudoLabels,
} from './select-pseudo-mask';

/** A batch of images in, per-pixel class probabilities [B, H, W, K] at the images' size out (the caller disposes). */
export type SegmentationPredictFn = (images: tf.Tensor4D) => tf.Tensor4D;

/** The teacher segmenter as a SegmentationPredictFn: probabilities averaged over `scales` (predictSegmentationMultiScale). */
export function multiScaleSegmenter(model: tf.LayersModel, scales: readonly number[] = MULTI_SCALE_SCALES): SegmentationPredictFn {
  return (images) => predictSegmentationMultiScale(model, images, scales);
}

/**
 * Pseudo-masks for a shard's records: the predictor's probabilities (for the teacher: multiScaleSegmenter
 * with options.scales), per-pixel argmax kept where >= options.threshold, options.ignore_label elsewhere.
 * `numClasses` counts the background (the manifest's class_names).
 */
export async function labelSegmentationRecords(
  records: readonly ImageRecord[], predict: SegmentationPredictFn, numClasses: number, o: ResolvedSegmentationLabelingOptions,
): Promise<SegmentationPseudoLabels> {
  const out: ImageRecord[] = [];
  let stats: SegmentationLabelStats = segmentationLabelStats([], numClasses, o.ignoreLabel);
  await forEachImageBatch(records, o.batchSize, async (images, start, count) => {
    const probs = predict(images);
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
    const perImage = records[start].height * records[start].width * numClasses;
    const masks = Array.from({ length: count }, (_, i) =>
      selectPseudoMask(data.subarray(i * perImage, (i + 1) * perImage), numClasses, o.threshold, o.ignoreLabel));
    masks.forEach((m, i) => out.push(pseudoMaskRecord(records[start + i], m.mask)));
    stats = mergeSegmentationLabelStats(stats, segmentationLabelStats(masks, numClasses, o.ignoreLabel));
  });
  return { records: out, stats };
}
