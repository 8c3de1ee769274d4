import type { tf } from '@selftrain/compute';
import { forEachImageBatch } from '@selftrain/train';
import { encodePaletteMaskPng, vocPalette, type ImageRecord } from '@selftrain/data';
import { InputError } from '@selftrain/errors';
import { IGNORE_LABEL, SegmentationConfusion } from '@selftrain/metrics';
import { predictSegmentation, predictSegmentationMultiScale } from '@selftrain/models';
import type { DatasetManifest } from '@selftrain/proto';

/** A batch of images in, per-pixel class probabilities [B, H, W, K] at the images' size out (the caller disposes). */
export type SegmentationPredictFn = (images: tf.Tensor4D) => tf.Tensor4D;

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

export function segmentationEvalOptionsFromManifest(m: Pick<DatasetManifest, 'classNames' | 'ignoreLabel'>): SegmentationEvalOptions {
  return { numClasses: m.classNames.length, ignoreLabel: m.ignoreLabel || IGNORE_LABEL, classNames: m.classNames };
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
export function scoreSegmentation(records: readonly ImageRecord[], predicted: readonly Uint8Array[], o: SegmentationEvalOptions): SegmentationEvaluation {
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

/**
 * A segmenter as a SegmentationPredictFn for evaluation: single-scale by default, or probabilities
 * averaged over `scales` (e.g. MULTI_SCALE_SCALES).
 */
export function evaluationSegmenter(model: tf.LayersModel, scales: readonly number[] = [1]): SegmentationPredictFn {
  return scales.length === 1 && scales[0] === 1
    ? (images) => predictSegmentation(model, images)
    : (images) => predictSegmentationMultiScale(model, images, scales);
}

/** Runs a segmenter over a split's records in batches, argmax per pixel, and scores it (see scoreSegmentation). */
export async function evaluateSegmenter(
  records: readonly ImageRecord[], predict: SegmentationPredictFn, o: SegmentationEvalOptions & { batchSize?: number },
): Promise<SegmentationScore> {
  const masks: Uint8Array[] = [];
  await forEachImageBatch(records, o.batchSize ?? 8, async (images, start, count) => {
    const probs = predict(images);
    let data: Float32Array;
    try {
      const [b, h, w, k] = probs.shape;
      if (b !== count || h !== images.shape[1] || w !== images.shape[2] || k !== o.numClasses) {
        throw new Error(`the segmenter gave [${probs.shape.join(', ')}] for ${count} images of ${images.shape[1]}x${images.shape[2]} and ${o.numClasses} classes`);
      }
      data = (await probs.data()) as Float32Array;
    } finally {
      probs.dispose();
    }
    const perImage = records[start].height * records[start].width * o.numClasses;
    for (let i = 0; i < count; i++) masks.push(argmaxMask(data.subarray(i * perImage, (i + 1) * perImage), o.numClasses));
  });
  return { evaluation: scoreSegmentation(records, masks, o), masks };
}

/**
 * Predicted masks as palette PNGs (VOC colours by default): the pixel index is the class id, so
 * viewers show colours and VOC tools read ids. Named after the record's source id when it has one.
 */
export function predictedMaskPngs(
  records: readonly Pick<ImageRecord, 'key' | 'sourceId' | 'height' | 'width'>[], masks: readonly Uint8Array[], palette: Uint8Array = vocPalette(),
): { key: string; sourceId?: string; png: Buffer }[] {
  if (records.length !== masks.length) throw new Error(`${records.length} records but ${masks.length} masks`);
  return records.map((r, i) => {
    if (masks[i].length !== r.height * r.width) throw new Error(`mask of ${masks[i].length} pixels for ${r.key} (${r.height}x${r.width})`);
    const out: { key: string; sourceId?: string; png: Buffer } = { key: r.key, png: encodePaletteMaskPng(masks[i], r.height, r.width, palette) };
    if (r.sourceId !== undefined) out.sourceId = r.sourceId;
    return out;
  });
}
