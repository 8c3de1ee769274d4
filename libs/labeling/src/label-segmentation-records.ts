import { assertCheckpointFitsTask } from '@selftrain/checkpoints';
import type { ImageRecord } from '@selftrain/data';
import { forEachSegmentationBatch, segmentationPredictor, type SegmentationPredictFn } from '@selftrain/train';
import type { LabelStats } from '@selftrain/proto';
import type { ResolvedSegmentationLabelingOptions } from './dense-labeling-options';
import { denseShardOptions, segmentationShardOptions } from './dense-shard-options';
import {
  mergeSegmentationLabelStats, pseudoMaskRecord, segmentationLabelStats, selectPseudoMask,
  type SegmentationLabelStats, type SegmentationPseudoLabels,
} from './select-pseudo-mask';
import type { TaskLabeler, TaskLabels } from './task-labeler';

/**
 * Pseudo-masks for a shard's records: the predictor's probabilities (for the teacher: segmentationPredictor
 * with options.scales), per-pixel argmax kept where >= options.threshold, options.ignore_label elsewhere.
 * `numClasses` counts the background (the manifest's class_names).
 */
export async function labelSegmentationRecords(
  records: readonly ImageRecord[], predict: SegmentationPredictFn, numClasses: number, o: ResolvedSegmentationLabelingOptions,
): Promise<SegmentationPseudoLabels> {
  const out: ImageRecord[] = [];
  let stats: SegmentationLabelStats = segmentationLabelStats([], numClasses, o.ignoreLabel);
  await forEachSegmentationBatch(records, predict, numClasses, o.batchSize, (data, start, count) => {
    const perImage = records[start].height * records[start].width * numClasses;
    const masks = Array.from({ length: count }, (_, i) =>
      selectPseudoMask(data.subarray(i * perImage, (i + 1) * perImage), numClasses, o.threshold, o.ignoreLabel));
    masks.forEach((m, i) => out.push(pseudoMaskRecord(records[start + i], m.mask)));
    stats = mergeSegmentationLabelStats(stats, segmentationLabelStats(masks, numClasses, o.ignoreLabel));
  });
  return { records: out, stats };
}

/** A shard's pseudo-masks as the labeler reports them, whatever predicted the probabilities. */
async function segmentationTaskLabels(records: readonly ImageRecord[], predict: SegmentationPredictFn, numClasses: number, o: ResolvedSegmentationLabelingOptions): Promise<TaskLabels> {
  const { records: out, stats } = await labelSegmentationRecords(records, predict, numClasses, o);
  // Per the proto: every record is kept; kept_per_class counts pixels, the histogram pixel confidences.
  // Ignored pixels are not attributed to a class, so dropped_per_class stays empty.
  const labelStats: LabelStats = {
    records: stats.images, kept: stats.images, dropped: 0, keptPerClass: stats.pixelsPerClass, droppedPerClass: [],
    confidenceHistogram: stats.confidenceHistogram, duplicated: 0, boxes: 0, imagesWithBoxes: 0,
    pixels: stats.pixels, ignoredPixels: stats.ignoredPixels,
  };
  return { records: out, labelStats, stats: { task: 'segmentation', segmentation: stats }, keptNothing: stats.ignoredPixels === stats.pixels };
}

/**
 * Masks for a shard's records: the teacher's probabilities averaged over options.scales, argmax kept
 * where >= options.threshold, the ignore label elsewhere (labelSegmentationRecords). Every record is
 * kept. In the stats object under `segmentation`.
 */
export const segmentationLabeler: TaskLabeler = {
  resolve(input, manifest) {
    const o = segmentationShardOptions(input.dense ?? denseShardOptions(undefined), manifest.ignoreLabel);
    const numClasses = manifest.classNames.length;
    return {
      options: { task: 'segmentation', ...o },
      label: (model, records) => segmentationTaskLabels(records, segmentationPredictor(model, o.scales), numClasses, o),
      // A user's model at its one input size (options.scales are a checkpoint's: it takes any size).
      labelWith: (teacher, records) => segmentationTaskLabels(records, teacher.segmenter(manifest.classNames), numClasses, o),
    };
  },
  checkModel: (model, manifest) => assertCheckpointFitsTask(model, 'segmentation', manifest.classNames.length, manifest.channels),
};
