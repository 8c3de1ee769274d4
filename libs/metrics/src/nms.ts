// Non-maximum suppression for turning a detector's raw boxes into pseudo-labels (DESIGN: teacher
// boxes with score >= 0.5 after NMS, Soft-NMS with sigma 0.3 for the strongest setting). Pure
// functions over plain boxes: the labeler runs them after inference, outside any tensor code.
import { cornerIou, type CornerBox } from './box-iou.js';

export interface ScoredBox extends CornerBox {
  score: number;
  label: number;
}

export interface NmsOptions {
  /** A box is suppressed when its IoU with a kept box is above this (default 0.5). */
  iouThreshold?: number;
  /** Suppress only within a class (default true): overlapping objects of different classes both stay. */
  perClass?: boolean;
}

export interface SoftNmsOptions {
  /** Gaussian width (default 0.3). */
  sigma?: number;
  /** Boxes whose decayed score falls below this are dropped (default 0.001, as in Bodla et al.'s code). */
  scoreThreshold?: number;
  perClass?: boolean;
}

/** Greedy hard NMS; kept boxes in descending score (ties: input order). */
export function nms(boxes: ScoredBox[], opts: NmsOptions = {}): ScoredBox[] {
  const iouThreshold = opts.iouThreshold ?? 0.5;
  const perClass = opts.perClass ?? true;
  const order = boxes.map((_, i) => i).sort((a, b) => boxes[b].score - boxes[a].score || a - b);
  const kept: ScoredBox[] = [];
  for (const i of order) {
    const b = boxes[i];
    if (!kept.some((k) => (!perClass || k.label === b.label) && cornerIou(k, b) > iouThreshold)) kept.push(b);
  }
  return kept;
}

/**
 * Gaussian Soft-NMS (Bodla et al. 2017): take the best box, multiply every remaining overlapping
 * box's score by exp(-IoU^2 / sigma), repeat. The weight is the paper's and its reference code's;
 * TensorFlow's soft_nms_sigma divides by 2 sigma instead, so its sigma s equals ours at 2 s.
 * Returns copies with the decayed scores, in the order taken (non-increasing score).
 */
export function softNms(boxes: ScoredBox[], opts: SoftNmsOptions = {}): ScoredBox[] {
  const sigma = opts.sigma ?? 0.3;
  const scoreThreshold = opts.scoreThreshold ?? 0.001;
  const perClass = opts.perClass ?? true;
  const left = boxes.map((b) => ({ ...b })).filter((b) => b.score >= scoreThreshold);
  const out: ScoredBox[] = [];
  while (left.length > 0) {
    let best = 0;
    for (let i = 1; i < left.length; i++) if (left[i].score > left[best].score) best = i;
    const [m] = left.splice(best, 1);
    out.push(m);
    for (let i = left.length - 1; i >= 0; i--) {
      const b = left[i];
      if (perClass && b.label !== m.label) continue;
      const iou = cornerIou(m, b);
      b.score *= Math.exp(-(iou * iou) / sigma);
      if (b.score < scoreThreshold) left.splice(i, 1);
    }
  }
  return out;
}

/** Detection pseudo-labels: the boxes that still score >= minScore (default 0.5) after NMS or Soft-NMS. */
export function pseudoLabelBoxes(
  boxes: ScoredBox[],
  opts: { method?: 'nms' | 'soft-nms'; minScore?: number; nms?: NmsOptions; softNms?: SoftNmsOptions } = {},
): ScoredBox[] {
  const minScore = opts.minScore ?? 0.5;
  const kept = opts.method === 'soft-nms' ? softNms(boxes, opts.softNms) : nms(boxes, opts.nms);
  return kept.filter((b) => b.score >= minScore);
}
