import { generateAnchors, RETINANET_MIN_LEVEL, type AnchorSet } from '@selftrain/models';

/** The pyramid levels a selftrain detector may end at (RetinaNetSpec.maxLevel). */
const MAX_LEVELS = [3, 4, 5, 6, 7];

/**
 * An exported detector's anchors (metadata_props `anchors`, flat normalized corner boxes) as the
 * AnchorSet decodeDetections takes. The boxes are the file's own; only the split into pyramid levels
 * (decodeDetections keeps the top candidates per level) is recomputed, from the zoo's layout for the
 * input size: P3 up to whichever last level gives the file's anchor count. A count no layout gives is
 * taken as one level.
 */
export function anchorSetFromBoxes(boxes: Float32Array, imageSize: [number, number]): AnchorSet {
  const count = boxes.length / 4;
  for (const maxLevel of MAX_LEVELS) {
    if (maxLevel < RETINANET_MIN_LEVEL) continue;
    const layout = generateAnchors({ imageSize, minLevel: RETINANET_MIN_LEVEL, maxLevel });
    if (layout.count === count) return { ...layout, boxes };
  }
  return { boxes, count, anchorsPerLocation: 1, levels: [{ level: 0, height: 1, width: count, offset: 0, count }] };
}
