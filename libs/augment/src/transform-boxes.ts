// Replays a sampled plan on detection boxes: every 'affine' step moves them like the image, 'pixel'
// and 'cutout' steps leave them alone (Cutout occludes part of an object, it does not move or remove it).
import type { AugmentStep } from './augment-step.js';
import { clipPolygon, polygonArea, polygonHull, rectPolygon, transformPolygon } from './convex-polygon.js';

/**
 * One box in **normalized** coordinates: fractions of the image width (x) and height (y), the form
 * records store (image/object/bbox/*), so a record's objects can be passed as they are. Any extra
 * fields (a score, a source id) ride along untouched.
 */
export interface Box {
  xmin: number;
  ymin: number;
  xmax: number;
  ymax: number;
  /** Class label; carried, never read. */
  label: number;
  isCrowd?: boolean;
  /** Object area in pixels (COCO: the segment's); scaled by the fraction of the box that survives. */
  area?: number;
}

export interface BoxOptions {
  /** Boxes whose width or height ends below this many pixels are dropped (default 1). */
  minBoxSide?: number;
}

export interface TransformedBoxes<B extends Box> {
  boxes: B[];
  /** For each output box, the index of its input box, to keep other per-box arrays aligned. */
  kept: number[];
}

// Float noise must not drop a box that is exactly minBoxSide wide.
const SIDE_EPS = 1e-9;

/**
 * Each box's rectangle is followed as a polygon through every affine step and clipped to the frame
 * after each (what a step pushes out of the image is gone from it); the result is its axis-aligned
 * hull. The output image has the input's size, so normalization uses the same height and width.
 */
export function transformBoxes<B extends Box>(
  boxes: readonly B[],
  plan: readonly AugmentStep[],
  height: number,
  width: number,
  opts: BoxOptions = {},
): TransformedBoxes<B> {
  const minSide = opts.minBoxSide ?? 1;
  if (!Number.isFinite(minSide) || minSide < 0) throw new Error(`minBoxSide must be a number >= 0, got ${minSide}`);
  const out: TransformedBoxes<B> = { boxes: [], kept: [] };
  boxes.forEach((b, i) => {
    if (![b.xmin, b.ymin, b.xmax, b.ymax].every(Number.isFinite) || b.xmin > b.xmax || b.ymin > b.ymax) {
      throw new Error(`boxes[${i}] must have finite coordinates with min <= max, got ${JSON.stringify(b)}`);
    }
    const start = rectPolygon(b.xmin * width, b.ymin * height, b.xmax * width, b.ymax * height);
    let p = clipPolygon(start, width, height);
    for (const step of plan) {
      if (p.length === 0) break;
      if (step.kind === 'affine') p = clipPolygon(transformPolygon(p, step.matrix), width, height);
    }
    const area = p.length === 0 ? 0 : polygonArea(p);
    if (area === 0) return;
    const [x0, y0, x1, y1] = polygonHull(p);
    if (x1 - x0 < minSide - SIDE_EPS || y1 - y0 < minSide - SIDE_EPS) return;
    const moved: B = { ...b, xmin: x0 / width, ymin: y0 / height, xmax: x1 / width, ymax: y1 / height };
    // Affine maps scale every area by the same factor, so the object's area follows its box's polygon.
    if (b.area !== undefined) moved.area = (b.area * area) / polygonArea(start);
    out.boxes.push(moved);
    out.kept.push(i);
  });
  return out;
}
