/**
 * RetinaNet/SSD box encoding: a box relative to its anchor as (dx, dy, dw, dh) =
 * ((x - xa) / wa, (y - ya) / ha, log(w / wa), log(h / ha)) divided by the usual variances
 * (0.1, 0.1, 0.2, 0.2), so the regression targets have roughly unit scale. Boxes are corner boxes
 * [xmin, ymin, xmax, ymax], flat [N*4]; the ratios make the encoding independent of the coordinate units.
 */
export const BOX_VARIANCES: readonly [number, number, number, number] = [0.1, 0.1, 0.2, 0.2];

/** Largest dw/dh decoded (Detectron's clamp, log(1000/16)), so a wild prediction cannot overflow exp. */
const MAX_LOG_SCALE = Math.log(1000 / 16);

/** Encodes box `b` of `box` (flat corner boxes) against anchor `a`; writes the 4 targets at out[o..]. */
export function encodeBox(anchors: ArrayLike<number>, a: number, box: ArrayLike<number>, b: number, out: Float32Array | number[], o: number): void {
  const wa = anchors[a * 4 + 2] - anchors[a * 4];
  const ha = anchors[a * 4 + 3] - anchors[a * 4 + 1];
  const xa = anchors[a * 4] + wa / 2;
  const ya = anchors[a * 4 + 1] + ha / 2;
  const w = box[b * 4 + 2] - box[b * 4];
  const h = box[b * 4 + 3] - box[b * 4 + 1];
  const x = box[b * 4] + w / 2;
  const y = box[b * 4 + 1] + h / 2;
  out[o] = (x - xa) / wa / BOX_VARIANCES[0];
  out[o + 1] = (y - ya) / ha / BOX_VARIANCES[1];
  out[o + 2] = Math.log(w / wa) / BOX_VARIANCES[2];
  out[o + 3] = Math.log(h / ha) / BOX_VARIANCES[3];
}

/** Inverse of encodeBox for anchor `a` and the 4 deltas at `deltas[d*4..]`; writes a corner box at out[o..]. */
export function decodeBox(anchors: ArrayLike<number>, a: number, deltas: ArrayLike<number>, d: number, out: Float32Array | number[], o: number): void {
  const wa = anchors[a * 4 + 2] - anchors[a * 4];
  const ha = anchors[a * 4 + 3] - anchors[a * 4 + 1];
  const xa = anchors[a * 4] + wa / 2;
  const ya = anchors[a * 4 + 1] + ha / 2;
  const x = xa + deltas[d * 4] * BOX_VARIANCES[0] * wa;
  const y = ya + deltas[d * 4 + 1] * BOX_VARIANCES[1] * ha;
  const w = wa * Math.exp(Math.min(deltas[d * 4 + 2] * BOX_VARIANCES[2], MAX_LOG_SCALE));
  const h = ha * Math.exp(Math.min(deltas[d * 4 + 3] * BOX_VARIANCES[3], MAX_LOG_SCALE));
  out[o] = x - w / 2;
  out[o + 1] = y - h / 2;
  out[o + 2] = x + w / 2;
  out[o + 3] = y + h / 2;
}
