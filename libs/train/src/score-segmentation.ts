import { InputError } from '@selftrain/errors';
import { IGNORE_LABEL, SegmentationConfusion } from '@selftrain/metrics';
import { forEachSegmentationBatch, type SegmentationPredictFn } from './dense-predictors';
import type { SizedImage } from './image-batches';

/** What scoring needs of a labeled segmentation record (libs/data's ImageRecord fits). */
export interface SegmentationRecord extends SizedImage {
  key: string;
  /** The ground truth: HxW class ids, the ignore label where unknown. */
  mask?: Uint8Array;
}

export interface SegmentationEvalOptions {
  /** Classes including the background (the manifest's class_names): mask values 0..numClasses-1. */
  numClasses: number;
  /** Mask value left out of every count (the manifest's ignore_label; default 255). */
  ignoreLabel?: number;
  classNames?: readonly string[];
}

/** mIoU of a segmenter on a split: per-class IoU TP / (TP + FP + FN) over all pixels, ignore excluded. */
export interface SegmentationEvaluation {
  images: number;
  /** Pixels counted (ignore-label pixels excluded). */
  pixels: number;
  /** Mean over the classes present in the labels or the predictions. */
  meanIou: number;
  pixelAccuracy: number;
  /** iou null: the class is in neither the labels nor the predictions (left out of the mean). */
  perClass: { label: number; className: string; iou: number | null }[];
}

export interface SegmentationScore {
  evaluation: SegmentationEvaluation;
  /** The predicted mask of each record (HxW class ids), in record order. */
  masks: Uint8Array[];
}

/** Per-pixel argmax of row-major [H*W, K] probabilities (ties: the lower class id). */
export function argmaxMask(probabilities: ArrayLike<number>, numClasses: number): Uint8Array {
  const pixels = probabilities.length / numClasses;
  if (!Number.isInteger(pixels)) throw new Error(`${probabilities.length} probabilities are not a whole number of ${numClasses}-class pixels`);
  const mask = new Uint8Array(pixels);
  for (let p = 0, at = 0; p < pixels; p++, at += numClasses) {
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (probabilities[at + c] > probabilities[at + best]) best = c;
    mask[p] = best;
  }
  return mask;
}

/** Scores predicted masks against the records' masks (mIoU, per-class IoU, pixel accuracy). */
export function scoreSegmentation(records: readonly SegmentationRecord[], predicted: readonly Uint8Array[], o: SegmentationEvalOptions): SegmentationEvaluation {
  if (records.length !== predicted.length) throw new Error(`${records.length} records but ${predicted.length} predicted masks`);
  const confusion = new SegmentationConfusion(o.numClasses, o.ignoreLabel ?? IGNORE_LABEL);
  records.forEach((r, i) => {
    if (r.mask === undefined) throw new InputError('split', `record ${r.key} has no mask: not a labeled segmentation record`);
    if (predicted[i].length !== r.mask.length) throw new Error(`predicted mask of ${predicted[i].length} pixels for ${r.key} (${r.height}x${r.width})`);
    confusion.add(r.mask, predicted[i]);
  });
  const report = confusion.report();
  return {
    images: records.length,
    pixels: report.pixels,
    meanIou: report.meanIou,
    pixelAccuracy: report.pixelAccuracy,
    perClass: report.perClassIou.map((iou, label) => ({ label, className: o.classNames?.[label] ?? String(label), iou })),
  };
}

/** Runs a segmenter over a split's records in batches, argmax per pixel, and scores it (see scoreSegmentation). */
export async function evaluateSegmenter(
  records: readonly SegmentationRecord[], predict: SegmentationPredictFn, o: SegmentationEvalOptions & { batchSize?: number },
): Promise<SegmentationScore> {
  const masks: Uint8Array[] = [];
  await forEachSegmentationBatch(records, predict, o.numClasses, o.batchSize ?? 8, (data, start, count) => {
    const perImage = records[start].height * records[start].width * o.numClasses;
    for (let i = 0; i < count; i++) masks.push(argmaxMask(data.subarray(i * perImage, (i + 1) * perImage), o.numClasses));
  });
  return { evaluation: scoreSegmentation(records, masks, o), masks };
}
