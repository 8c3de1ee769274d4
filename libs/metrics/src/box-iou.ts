// Box overlap in the two layouts the platform uses: COCO's [x, y, width, height] (evaluation) and
// corner boxes (records, NMS). Both return 0 for boxes that only touch.

/** COCO bbox: [x, y, width, height] in pixels. */
export type XywhBox = readonly [number, number, number, number];

export interface CornerBox {
  xmin: number;
  ymin: number;
  xmax: number;
  ymax: number;
}

/**
 * IoU as pycocotools' maskApi bbIou computes it. For a crowd ground truth the denominator is the
 * detection's own area: a detection inside a crowd region overlaps it fully, however big the region.
 */
export function xywhIou(dt: XywhBox, gt: XywhBox, gtIsCrowd = false): number {
  const w = Math.min(dt[0] + dt[2], gt[0] + gt[2]) - Math.max(dt[0], gt[0]);
  if (w <= 0) return 0;
  const h = Math.min(dt[1] + dt[3], gt[1] + gt[3]) - Math.max(dt[1], gt[1]);
  if (h <= 0) return 0;
  const inter = w * h;
  const dtArea = dt[2] * dt[3];
  return inter / (gtIsCrowd ? dtArea : dtArea + gt[2] * gt[3] - inter);
}

export function cornerIou(a: CornerBox, b: CornerBox): number {
  const w = Math.min(a.xmax, b.xmax) - Math.max(a.xmin, b.xmin);
  if (w <= 0) return 0;
  const h = Math.min(a.ymax, b.ymax) - Math.max(a.ymin, b.ymin);
  if (h <= 0) return 0;
  const inter = w * h;
  const union = (a.xmax - a.xmin) * (a.ymax - a.ymin) + (b.xmax - b.xmin) * (b.ymax - b.ymin) - inter;
  return union > 0 ? inter / union : 0;
}
