// Raw model outputs as the Predictor's task-shaped results; shared by the engines so they cannot differ
// in how a probability or a class map is read off.
import type { ScoredBox } from '@selftrain/metrics';
import type { DetectedBox, PredictorInput } from './predictor';

/** Softmax of each row of a row-major [n, k] array. */
export function softmaxRows(logits: ArrayLike<number>, k: number): Float32Array[] {
  const rows: Float32Array[] = [];
  for (let at = 0; at < logits.length; at += k) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, logits[at + j]);
    const row = new Float32Array(k);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += row[j] = Math.exp(logits[at + j] - max);
    for (let j = 0; j < k; j++) row[j] /= sum;
    rows.push(row);
  }
  return rows;
}

/** Per image the argmax over the last axis of [n, pixels, k] scores (logits or probabilities). */
export function argmaxMaps(scores: ArrayLike<number>, n: number, pixels: number, k: number): Uint8Array[] {
  if (k > 256) throw new Error(`${k} classes do not fit a byte per pixel`);
  const maps: Uint8Array[] = [];
  for (let b = 0; b < n; b++) {
    const map = new Uint8Array(pixels);
    for (let p = 0; p < pixels; p++) {
      const at = (b * pixels + p) * k;
      let best = 0;
      for (let c = 1; c < k; c++) if (scores[at + c] > scores[at + best]) best = c;
      map[p] = best;
    }
    maps.push(map);
  }
  return maps;
}

/** Normalized detections (decodeDetections' 1-based labels, which index class names with the background at 0) in input pixels. */
export function toPixelBoxes(boxes: readonly ScoredBox[], input: PredictorInput): DetectedBox[] {
  return boxes.map((b) => ({
    xmin: b.xmin * input.width, ymin: b.ymin * input.height, xmax: b.xmax * input.width, ymax: b.ymax * input.height, score: b.score, label: b.label,
  }));
}
