import { tf } from '@selftrain/compute';
import { nms, softNms, type ScoredBox } from '@selftrain/metrics';
import { decodeBox, type AnchorSet } from '@selftrain/models';

export interface DecodeDetectionsOptions {
  /** candidates scoring below this are dropped before NMS (default 0.05, the paper's) */
  scoreThreshold?: number;
  /** at most this many candidates per pyramid level go to NMS (default 1000, the paper's) */
  preNmsTopK?: number;
  /** 'nms' (default) or Gaussian 'soft-nms' */
  method?: 'nms' | 'soft-nms';
  /** hard-NMS IoU threshold (default 0.5) */
  iouThreshold?: number;
  /** Soft-NMS sigma (default 0.3) */
  softNmsSigma?: number;
  /** detections kept per image after NMS (default 100, COCO's) */
  maxDetections?: number;
}

/**
 * Per-image detections from the detector's raw outputs (flat data of [B, N, K] logits and [B, N, 4]
 * deltas): sigmoid scores, score threshold, top-k per level, boxes decoded against the anchors and
 * clipped to the image, then per-class NMS or Soft-NMS (@selftrain/metrics), best first. Labels are
 * 1-based (output k is class k + 1); boxes are normalized corner boxes.
 */
export function decodeDetections(
  classLogits: ArrayLike<number>, boxDeltas: ArrayLike<number>, anchors: AnchorSet, numClasses: number, opts: DecodeDetectionsOptions = {},
): ScoredBox[][] {
  const threshold = opts.scoreThreshold ?? 0.05;
  const topK = opts.preNmsTopK ?? 1000;
  const maxDetections = opts.maxDetections ?? 100;
  const n = anchors.count;
  const k = numClasses;
  const batch = classLogits.length / (n * k);
  if (!Number.isInteger(batch) || boxDeltas.length !== batch * n * 4) {
    throw new Error(`outputs do not match ${n} anchors x ${k} classes: ${classLogits.length} logits, ${boxDeltas.length} deltas`);
  }
  // Compare logits, not probabilities: sigmoid is monotone, so only survivors pay for the exp.
  const logitThreshold = Math.log(threshold / (1 - threshold));
  const box = new Float32Array(4);
  const out: ScoredBox[][] = [];
  for (let b = 0; b < batch; b++) {
    const candidates: ScoredBox[] = [];
    for (const level of anchors.levels) {
      const picked: { index: number; logit: number }[] = [];
      for (let i = level.offset * k; i < (level.offset + level.count) * k; i++) {
        const logit = classLogits[b * n * k + i];
        if (logit > logitThreshold) picked.push({ index: i, logit });
      }
      picked.sort((p, q) => q.logit - p.logit);
      for (const { index, logit } of picked.slice(0, topK)) {
        const anchor = Math.floor(index / k);
        decodeBox(anchors.boxes, anchor, boxDeltas, b * n + anchor, box, 0);
        const clip = (v: number) => Math.min(1, Math.max(0, v));
        const c = { xmin: clip(box[0]), ymin: clip(box[1]), xmax: clip(box[2]), ymax: clip(box[3]) };
        if (c.xmax <= c.xmin || c.ymax <= c.ymin) continue;
        candidates.push({ ...c, score: 1 / (1 + Math.exp(-logit)), label: (index % k) + 1 });
      }
    }
    const kept = opts.method === 'soft-nms'
      ? softNms(candidates, { sigma: opts.softNmsSigma ?? 0.3, scoreThreshold: Math.min(threshold, 0.001) })
      : nms(candidates, { iouThreshold: opts.iouThreshold ?? 0.5 });
    out.push(kept.slice(0, maxDetections));
  }
  return out;
}

/** Runs the detector in inference mode on a batch and decodes its detections (see decodeDetections). */
export async function detect(model: tf.LayersModel, images: tf.Tensor4D, anchors: AnchorSet, opts: DecodeDetectionsOptions = {}): Promise<ScoredBox[][]> {
  const [logits, deltas] = model.predict(images) as tf.Tensor[];
  try {
    const k = logits.shape[2] as number;
    return decodeDetections(await logits.data(), await deltas.data(), anchors, k, opts);
  } finally {
    tf.dispose([logits, deltas]);
  }
}
