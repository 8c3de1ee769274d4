import { levelSize } from './fpn-backbone';

export interface AnchorOptions {
  /** [height, width] of the input image in pixels */
  imageSize: [number, number];
  minLevel: number;
  maxLevel: number;
  /** anchor side at scale 1 = sizeFactor * 2^level pixels (default 4, the RetinaNet paper's) */
  sizeFactor?: number;
  /** default [2^0, 2^(1/3), 2^(2/3)] */
  scales?: number[];
  /** height / width; default [0.5, 1, 2] */
  aspectRatios?: number[];
}

export interface AnchorLevel {
  level: number;
  /** feature map size of this level */
  height: number;
  width: number;
  /** index of this level's first anchor in the flat anchor list */
  offset: number;
  /** height * width * anchorsPerLocation */
  count: number;
}

export interface AnchorSet {
  /** [N*4] normalized [xmin, ymin, xmax, ymax] (not clipped: big anchors may stick out of the image) */
  boxes: Float32Array;
  count: number;
  anchorsPerLocation: number;
  levels: AnchorLevel[];
}

export const DEFAULT_ANCHOR_SCALES: readonly number[] = [1, 2 ** (1 / 3), 2 ** (2 / 3)];
export const DEFAULT_ASPECT_RATIOS: readonly number[] = [0.5, 1, 2];

/**
 * RetinaNet anchors, in the order the detector's outputs come: level by level (minLevel first), then
 * row-major over the level's locations, then per location ratio-major (a = ratioIndex * scales + scaleIndex).
 * Centres at the cell centres ((x + 0.5) * image / featureSize, which is the stride for a divisible input).
 * Computed in pixels (so aspect ratios are true ones), then normalized by the image size.
 */
export function generateAnchors(o: AnchorOptions): AnchorSet {
  const [imageH, imageW] = o.imageSize;
  const sizeFactor = o.sizeFactor ?? 4;
  const scales = o.scales ?? DEFAULT_ANCHOR_SCALES;
  const ratios = o.aspectRatios ?? DEFAULT_ASPECT_RATIOS;
  if (!(sizeFactor > 0)) throw new Error(`sizeFactor must be > 0, got ${sizeFactor}`);
  if (scales.length === 0 || ratios.length === 0 || [...scales, ...ratios].some((v) => !(v > 0))) {
    throw new Error('anchor scales and aspect ratios must be non-empty lists of positive numbers');
  }
  const perLocation = scales.length * ratios.length;
  const levels: AnchorLevel[] = [];
  let total = 0;
  for (let level = o.minLevel; level <= o.maxLevel; level++) {
    const height = levelSize(imageH, level);
    const width = levelSize(imageW, level);
    levels.push({ level, height, width, offset: total, count: height * width * perLocation });
    total += height * width * perLocation;
  }
  const boxes = new Float32Array(total * 4);
  let k = 0;
  for (const l of levels) {
    const base = sizeFactor * 2 ** l.level;
    const strideY = imageH / l.height;
    const strideX = imageW / l.width;
    // Half-sizes per anchor shape, shared by every location of the level.
    const half: [number, number][] = [];
    for (const r of ratios) for (const s of scales) half.push([(base * s) / Math.sqrt(r) / 2, (base * s * Math.sqrt(r)) / 2]);
    for (let y = 0; y < l.height; y++) {
      const cy = (y + 0.5) * strideY;
      for (let x = 0; x < l.width; x++) {
        const cx = (x + 0.5) * strideX;
        for (const [hw, hh] of half) {
          boxes[k++] = (cx - hw) / imageW;
          boxes[k++] = (cy - hh) / imageH;
          boxes[k++] = (cx + hw) / imageW;
          boxes[k++] = (cy + hh) / imageH;
        }
      }
    }
  }
  return { boxes, count: total, anchorsPerLocation: perLocation, levels };
}
