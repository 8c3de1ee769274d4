// Results on the model's input (the image fitted by stretch, letterbox or center-crop) taken back to the
// original image: the inverse of libs/data's FitGeometry, x = (x' - offsetX) / scaleX.
import { IGNORE_LABEL, type FitGeometry } from '@selftrain/data';
import type { DetectedBox } from './predictor';

/** The narrowest side a box keeps after clipping: a hundredth of a pixel, the precision results are written at. */
export const MIN_BOX_SIDE = 0.01;

/**
 * Boxes in model-input pixels as boxes in original pixels, clipped to the image; a box left narrower or
 * lower than MIN_BOX_SIDE (it lay in the letterbox padding) is dropped.
 */
export function boxesToOriginal(boxes: readonly DetectedBox[], g: FitGeometry): DetectedBox[] {
  const { width: W, height: H } = g.source;
  const x = (v: number) => clamp((v - g.offsetX) / g.scaleX, 0, W);
  const y = (v: number) => clamp((v - g.offsetY) / g.scaleY, 0, H);
  const out: DetectedBox[] = [];
  for (const b of boxes) {
    const moved = { ...b, xmin: x(b.xmin), xmax: x(b.xmax), ymin: y(b.ymin), ymax: y(b.ymax) };
    if (moved.xmax - moved.xmin >= MIN_BOX_SIDE && moved.ymax - moved.ymin >= MIN_BOX_SIDE) out.push(moved);
  }
  return out;
}

/**
 * A class map of the model-input frame at the original size, nearest-neighbour: each original pixel
 * takes the class of the input pixel its centre lands in. Pixels a center-crop cut away (the model never
 * saw them) get `ignoreLabel`.
 */
export function maskToOriginal(map: Uint8Array, g: FitGeometry, ignoreLabel = IGNORE_LABEL): Uint8Array {
  const { source: src, target: dst } = g;
  const out = new Uint8Array(src.height * src.width);
  const cols = new Int32Array(src.width);
  for (let x = 0; x < src.width; x++) cols[x] = targetIndex(x, g.scaleX, g.offsetX, dst.width);
  for (let y = 0; y < src.height; y++) {
    const ty = targetIndex(y, g.scaleY, g.offsetY, dst.height);
    for (let x = 0; x < src.width; x++) {
      const tx = cols[x];
      out[y * src.width + x] = ty < 0 || tx < 0 ? ignoreLabel : map[ty * dst.width + tx];
    }
  }
  return out;
}

/** The target pixel holding source pixel i's centre, or -1 when it falls outside (cropped away). */
function targetIndex(i: number, scale: number, offset: number, size: number): number {
  const t = Math.floor((i + 0.5) * scale + offset);
  return t >= 0 && t < size ? t : -1;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
