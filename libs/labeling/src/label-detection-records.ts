import { assertCheckpointFitsTask, assertDetectorImageSize, detectorAnchors } from '@selftrain/checkpoints';
import type { ImageRecord } from '@selftrain/data';
import type { LabelStats } from '@selftrain/proto';
import { forEachImageBatch, retinaNetDetector, type DecodeDetectionsOptions, type DetectFn } from '@selftrain/train';
import type { ResolvedDetectionLabelingOptions } from './dense-labeling-options';
import { denseShardOptions, detectionShardOptions } from './dense-shard-options';
import {
  humanBoxesPerImage, mergeDetectionLabelStats, pseudoLabelDetections, type DetectionLabelStats, type DetectionPseudoLabels,
} from './select-pseudo-boxes';
import type { TaskLabeler, TaskLabels } from './task-labeler';

/** How the labeler decodes the teacher's detections (retinaNetDetector's options): NMS or Soft-NMS as asked. */
export function labelingDecodeOptions(o: Pick<ResolvedDetectionLabelingOptions, 'nms' | 'iouThreshold' | 'softNmsSigma' | 'maxDetections'>): DecodeDetectionsOptions {
  return { method: o.nms, iouThreshold: o.iouThreshold, softNmsSigma: o.softNmsSigma, maxDetections: o.maxDetections };
}

/**
 * Pseudo-labels a shard's records with a detector, in batches of options.batch_size: see
 * pseudoLabelDetections for the selection and statistics. `human` (the labeled split's records) only
 * feeds the human-boxes-per-image statistic.
 */
export async function labelDetectionRecords(
  records: readonly ImageRecord[], detectFn: DetectFn, numClasses: number, o: ResolvedDetectionLabelingOptions,
  human?: readonly Pick<ImageRecord, 'key' | 'objects'>[],
): Promise<DetectionPseudoLabels> {
  const out: ImageRecord[] = [];
  let stats: DetectionLabelStats | undefined;
  await forEachImageBatch(records, o.batchSize, async (images, start, count) => {
    const batch = records.slice(start, start + count);
    const detections = await detectFn(images);
    if (detections.length !== count) throw new Error(`the detector returned ${detections.length} images' detections for a batch of ${count}`);
    const labeled = pseudoLabelDetections(batch, detections, numClasses, o);
    out.push(...labeled.records);
    stats = stats === undefined ? labeled.stats : mergeDetectionLabelStats(stats, labeled.stats);
  });
  const total = stats ?? pseudoLabelDetections([], [], numClasses, o).stats;
  return { records: out, stats: { ...total, humanBoxesPerImage: human === undefined ? null : humanBoxesPerImage(human) } };
}

/** A shard's detection pseudo-labels as the labeler reports them, whatever detected the boxes. */
async function detectionTaskLabels(records: readonly ImageRecord[], detectFn: DetectFn, numClasses: number, o: ResolvedDetectionLabelingOptions): Promise<TaskLabels> {
  const { records: out, stats } = await labelDetectionRecords(records, detectFn, numClasses, o);
  // Per the proto: kept/dropped count images, kept_per_class boxes, the histogram post-NMS scores.
  const labelStats: LabelStats = {
    records: stats.images, kept: stats.keptImages, dropped: stats.droppedImages, keptPerClass: stats.keptPerClass,
    droppedPerClass: stats.droppedPerClass, confidenceHistogram: stats.scoreHistogram, duplicated: 0,
    boxes: stats.boxes, imagesWithBoxes: stats.imagesWithBoxes, pixels: 0, ignoredPixels: 0,
  };
  return { records: out, labelStats, stats: { task: 'detection', detection: stats }, keptNothing: stats.imagesWithBoxes === 0 };
}

/**
 * Boxes for a shard's records: the teacher RetinaNet's detections after NMS or Soft-NMS, kept at
 * score >= options.threshold (labelDetectionRecords). In the stats object under `detection`.
 */
export const detectionLabeler: TaskLabeler = {
  resolve(input, manifest) {
    const o = detectionShardOptions(input.dense ?? denseShardOptions(undefined));
    const numClasses = manifest.classNames.length;
    return {
      options: { task: 'detection', ...o },
      async label(model, records) {
        assertDetectorImageSize(model, records);
        return detectionTaskLabels(records, retinaNetDetector(model, detectorAnchors(model), labelingDecodeOptions(o)), numClasses, o);
      },
      // A user's detector has run its own NMS: its boxes go through the same selection.
      labelWith: (teacher, records) => detectionTaskLabels(records, teacher.detector(manifest.classNames), numClasses, o),
    };
  },
  checkModel: (model, manifest) => assertCheckpointFitsTask(model, 'detection', manifest.classNames.length, manifest.channels),
};
