import type { tf } from '@selftrain/compute';
import { forEachImageBatch } from '@selftrain/train';
import { encodePaletteMaskPng, IGNORE_LABEL, vocPalette, type ImageRecord } from '@selftrain/data';
import { InputError } from '@selftrain/errors';
import { SegmentationConfusion } from '@selftrain/metrics';
import { predictSegmentation, predictSegmentationMultiScale } from '@selftrain/models';
import type { TaskEvaluator } from './task-evaluator';
import { assertCheckpointFitsTask } from '@selftrain/checkpoints';
import type { Artifact, DatasetManifest, SegmentationMetrics } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';

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

export function segmentationMetrics(e: SegmentationEvaluation): SegmentationMetrics {
  return { meanIou: e.meanIou, pixelAccuracy: e.pixelAccuracy, iouPerClass: e.perClass.map((c) => c.iou ?? -1) };
}

/**
 * File names for the mask PNGs: the record's source id (VOC tools match masks to images by it) or
 * key, reduced to safe characters; a name taken twice gets the record's index appended.
 */
export function maskFileNames(records: readonly Pick<ImageRecord, 'key' | 'sourceId'>[]): string[] {
  const taken = new Set<string>();
  return records.map((r, i) => {
    let name = (r.sourceId || r.key).replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
    if (name === '' || taken.has(name)) name = `${name}-${i}`;
    taken.add(name);
    return `${name}.png`;
  });
}

async function writeMaskPngs(
  store: ObjectStore, prefix: string, records: readonly ImageRecord[], masks: readonly Uint8Array[], about: { split: string; checkpointSha256: string; classNames: string[] },
): Promise<Artifact> {
  const names = maskFileNames(records);
  const index: { key: string; sourceId?: string; mask: string; sha256: string }[] = [];
  for (const [i, m] of predictedMaskPngs(records, masks).entries()) {
    const art = await store.put(`${prefix}/masks/${names[i]}`, m.png, 'image/png');
    index.push({ key: m.key, ...(m.sourceId === undefined ? {} : { sourceId: m.sourceId }), mask: art.key, sha256: art.sha256 });
  }
  // Palette PNGs: the pixel index is the class id (VOC colours), so tools read ids and viewers show colours.
  return store.putJson(`${prefix}/masks.json`, { ...about, format: 'palette-png', masks: index });
}

/**
 * Single-scale mIoU. With `predictionsPrefix` the predicted masks are written too, as palette PNGs
 * `<prefix>/masks/*.png` with the index `<prefix>/masks.json`, returned as `predictions`.
 */
export const segmentationEvaluator: TaskEvaluator = {
  checkModel: (model, manifest) => assertCheckpointFitsTask(model, 'segmentation', manifest.classNames.length, manifest.channels),
  async evaluate({ deps, input, manifest, model, records, response }) {
    const seg = await evaluateSegmenter(records, evaluationSegmenter(model), { ...segmentationEvalOptionsFromManifest(manifest), batchSize: input.batchSize });
    const predictions = input.predictionsPrefix
      ? await writeMaskPngs(deps.store, input.predictionsPrefix, records, seg.masks, { split: input.split, checkpointSha256: response.checkpointSha256, classNames: manifest.classNames })
      : undefined;
    return { ...response, segmentation: segmentationMetrics(seg.evaluation), ...(predictions ? { predictions } : {}) };
  },
};
