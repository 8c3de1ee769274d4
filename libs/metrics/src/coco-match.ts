// One image, one category, one area range: pycocotools' COCOeval.evaluateImg, step for step, so
// that AP here equals the reference's (ties, crowd regions and area ranges included).
import { xywhIou, type XywhBox } from './box-iou.js';

export interface MatchGt {
  bbox: XywhBox;
  /** The annotation's area (COCO: the segment's, not the box's); decides the area range. */
  area: number;
  isCrowd: boolean;
}

export interface MatchDt {
  bbox: XywhBox;
  score: number;
}

export interface ImageMatch {
  /** Scores of the kept detections, highest first (stable for ties: input order). */
  dtScores: number[];
  /** [threshold][detection]: matched to a ground truth. */
  dtMatched: boolean[][];
  /** [threshold][detection]: left out of the count (matched to an ignored gt, or unmatched and outside the area range). */
  dtIgnore: boolean[][];
  /** Per ground truth, after sorting: ignored (crowd, or area outside the range). */
  gtIgnore: boolean[];
}

/** Indices sorted by key ascending; ties keep input order, as numpy's mergesort does. */
export function stableOrder(keys: number[]): number[] {
  return keys.map((_, i) => i).sort((a, b) => keys[a] - keys[b] || a - b);
}

export function inRange(area: number, range: readonly [number, number]): boolean {
  return !(area < range[0] || area > range[1]);
}

/** null when there is neither ground truth nor detection (the image does not count for this category). */
export function matchImage(
  gtIn: MatchGt[],
  dtIn: MatchDt[],
  iouThresholds: readonly number[],
  areaRange: readonly [number, number],
  maxDets: number,
): ImageMatch | null {
  if (gtIn.length === 0 && dtIn.length === 0) return null;
  const ignoreOf = (g: MatchGt) => g.isCrowd || !inRange(g.area, areaRange);
  // Non-ignored ground truth first, so a detection prefers a real match over an ignored one.
  const gt = stableOrder(gtIn.map((g) => (ignoreOf(g) ? 1 : 0))).map((i) => gtIn[i]);
  const dt = stableOrder(dtIn.map((d) => -d.score)).slice(0, maxDets).map((i) => dtIn[i]);
  const gtIgnore = gt.map(ignoreOf);
  const ious = dt.map((d) => gt.map((g) => xywhIou(d.bbox, g.bbox, g.isCrowd)));

  const dtMatched: boolean[][] = [];
  const dtIgnore: boolean[][] = [];
  for (const t of iouThresholds) {
    const gtTaken = new Array<boolean>(gt.length).fill(false);
    const matched = new Array<boolean>(dt.length).fill(false);
    const ignored = new Array<boolean>(dt.length).fill(false);
    for (let d = 0; d < dt.length; d++) {
      let best = Math.min(t, 1 - 1e-10);
      let m = -1;
      for (let g = 0; g < gt.length; g++) {
        // A crowd region may absorb any number of detections; a regular gt only one.
        if (gtTaken[g] && !gt[g].isCrowd) continue;
        // Already matched to a regular gt: ignored ones (sorted last) cannot take it away.
        if (m > -1 && !gtIgnore[m] && gtIgnore[g]) break;
        if (ious[d][g] < best) continue;
        best = ious[d][g]; // ties go to the later gt, as in the reference
        m = g;
      }
      if (m === -1) continue;
      ignored[d] = gtIgnore[m];
      matched[d] = true;
      gtTaken[m] = true;
    }
    // An unmatched detection outside the area range belongs to another range's evaluation.
    for (let d = 0; d < dt.length; d++) {
      if (!matched[d] && !inRange(dt[d].bbox[2] * dt[d].bbox[3], areaRange)) ignored[d] = true;
    }
    dtMatched.push(matched);
    dtIgnore.push(ignored);
  }
  return { dtScores: dt.map((d) => d.score), dtMatched, dtIgnore, gtIgnore };
}
