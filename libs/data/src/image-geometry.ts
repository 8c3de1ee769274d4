// Fitting an image to a dataset's size, and moving its boxes and mask the same way. The image is resized
// once at ingest; the geometry says exactly where each source pixel went, so boxes stay exact and a mask
// is sampled nearest-neighbour from the same map.
import type { BoxObject } from './annotation-features';
import { IGNORE_LABEL } from '@selftrain/metrics';

/**
 * How a source image becomes the target size:
 * - `stretch`: each axis scaled on its own (aspect ratio lost, nothing cut, no padding);
 * - `letterbox`: scaled by one factor to fit inside, centred, the rest padded (boxes and masks stay
 *   exact; the padding is ignore in masks);
 * - `center-crop`: scaled by one factor to cover, centred, the overhang cut off.
 */
export type FitPolicy = 'stretch' | 'letterbox' | 'center-crop';

export const FIT_POLICIES: readonly FitPolicy[] = ['stretch', 'letterbox', 'center-crop'];

export interface ImageSize {
  height: number;
  width: number;
}

/**
 * The map from source pixels to target pixels: x' = x * scaleX + offsetX (and likewise for y), in pixel
 * edge coordinates (0 = the left edge of the first pixel). `resized` is the size the source is scaled to
 * before padding (letterbox: offsets >= 0) or cropping (center-crop: offsets <= 0).
 */
export interface FitGeometry {
  source: ImageSize;
  target: ImageSize;
  resized: ImageSize;
  scaleX: number;
  scaleY: number;
  offsetX: number;
  offsetY: number;
}

export function fitGeometry(source: ImageSize, target: ImageSize, fit: FitPolicy): FitGeometry {
  const { height: h, width: w } = source;
  const { height: H, width: W } = target;
  let resized: ImageSize;
  if (fit === 'stretch') {
    resized = { height: H, width: W };
  } else {
    const s = fit === 'letterbox' ? Math.min(H / h, W / w) : Math.max(H / h, W / w);
    // Rounded to whole pixels; the side that decided the factor lands exactly on the target's.
    resized = { height: Math.max(1, Math.round(h * s)), width: Math.max(1, Math.round(w * s)) };
    if (fit === 'letterbox') resized = { height: Math.min(H, resized.height), width: Math.min(W, resized.width) };
    else resized = { height: Math.max(H, resized.height), width: Math.max(W, resized.width) };
  }
  return {
    source,
    target,
    resized,
    scaleX: resized.width / w,
    scaleY: resized.height / h,
    // Centred; an odd leftover goes to the right / bottom.
    offsetX: Math.trunc((W - resized.width) / 2),
    offsetY: Math.trunc((H - resized.height) / 2),
  };
}

/** True when the geometry leaves the image as it is (same size, nothing padded or cut). */
export function isIdentityGeometry(g: FitGeometry): boolean {
  return g.source.height === g.target.height && g.source.width === g.target.width && g.resized.height === g.target.height && g.resized.width === g.target.width;
}

/**
 * Boxes (fractions of the source's width / height) moved into the target frame, clipped to it. A box that
 * ends with no width or height (cut away by a center-crop) is dropped; `kept[k]` is the input index of
 * output box k. `area` (pixels) scales with the pixels and with the share of the box that survives.
 */
export function fitBoxes<B extends BoxObject>(boxes: readonly B[], g: FitGeometry): { boxes: B[]; kept: number[] } {
  const { source: src, target: dst } = g;
  const out: B[] = [];
  const kept: number[] = [];
  boxes.forEach((b, i) => {
    const x0 = b.xmin * src.width * g.scaleX + g.offsetX;
    const x1 = b.xmax * src.width * g.scaleX + g.offsetX;
    const y0 = b.ymin * src.height * g.scaleY + g.offsetY;
    const y1 = b.ymax * src.height * g.scaleY + g.offsetY;
    const cx0 = clamp(x0, 0, dst.width);
    const cx1 = clamp(x1, 0, dst.width);
    const cy0 = clamp(y0, 0, dst.height);
    const cy1 = clamp(y1, 0, dst.height);
    if (cx1 <= cx0 || cy1 <= cy0) return;
    const moved: B = { ...b, xmin: cx0 / dst.width, xmax: cx1 / dst.width, ymin: cy0 / dst.height, ymax: cy1 / dst.height };
    if (b.area !== undefined) {
      const whole = (x1 - x0) * (y1 - y0);
      const survives = whole > 0 ? ((cx1 - cx0) * (cy1 - cy0)) / whole : 1;
      moved.area = b.area * g.scaleX * g.scaleY * survives;
    }
    out.push(moved);
    kept.push(i);
  });
  return { boxes: out, kept };
}

/**
 * A class mask (HxW ids, the source's size) in the target frame, nearest-neighbour: each target pixel
 * centre is mapped back to the source pixel it falls in; centres in the letterbox padding get
 * `ignoreLabel`. Only source values and the ignore label appear in the output.
 */
export function fitMask(mask: Uint8Array, g: FitGeometry, ignoreLabel = IGNORE_LABEL): Uint8Array {
  const { source: src, target: dst } = g;
  if (mask.length !== src.height * src.width) throw new Error(`mask has ${mask.length} pixels, expected ${src.height}x${src.width}`);
  const out = new Uint8Array(dst.height * dst.width);
  const cols = new Int32Array(dst.width);
  for (let x = 0; x < dst.width; x++) cols[x] = sourceIndex(x, g.offsetX, g.scaleX, src.width);
  for (let y = 0; y < dst.height; y++) {
    const sy = sourceIndex(y, g.offsetY, g.scaleY, src.height);
    const row = y * dst.width;
    for (let x = 0; x < dst.width; x++) {
      const sx = cols[x];
      out[row + x] = sy < 0 || sx < 0 ? ignoreLabel : mask[sy * src.width + sx];
    }
  }
  return out;
}

/** The source pixel whose area holds target pixel i's centre, or -1 outside the source (padding). */
function sourceIndex(i: number, offset: number, scale: number, size: number): number {
  const s = Math.floor((i + 0.5 - offset) / scale);
  return s >= 0 && s < size ? s : -1;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
