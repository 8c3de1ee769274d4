// The single image resampler behind every geometric op (rotate, shear, translate, flip, scale jitter).
// transformMask follows the same pixel-centre convention and edge test, so masks line up with images.
import { type Affine, invertAffine } from './affine.js';
import type { Image } from './image.js';

export type Interpolation = 'bilinear' | 'nearest';

export interface WarpOptions {
  /** Output size; defaults to the input size. */
  height?: number;
  width?: number;
  interpolation?: Interpolation;
  /** Value for output pixels whose centre maps outside the input (default 0). */
  fill?: number;
}

// Tolerance for centres that land exactly on the input border after floating-point error (shared with
// transformMask, so image and mask agree on which pixels are padding).
export const EDGE_EPS = 1e-6;

/**
 * Output pixel centres are mapped back through the inverse of `forward`. A centre inside the input's
 * extent [0, W] x [0, H] is sampled (bilinear clamps to the edge pixels, which makes a pure scale
 * equal to a half-pixel-centre bilinear resize); one outside gets `fill`.
 */
export function warpAffine(img: Image, forward: Affine, opts: WarpOptions = {}): Image {
  const { height: inH, width: inW, channels: C, data: src } = img;
  const outH = opts.height ?? inH;
  const outW = opts.width ?? inW;
  const fill = opts.fill ?? 0;
  const nearest = opts.interpolation === 'nearest';
  const [ia, ib, ic, id, ie, iff] = invertAffine(forward);
  const out = new Uint8Array(outH * outW * C);
  // Clamped view rounds and saturates on store, so the inner loop needs no Math.round/min/max.
  const dst = new Uint8ClampedArray(out.buffer, out.byteOffset, out.length);
  const maxX = inW - 1;
  const maxY = inH - 1;
  const rowStride = inW * C;
  let o = 0;
  for (let y = 0; y < outH; y++) {
    const py = y + 0.5;
    // Input coordinate of this row's first pixel centre; step by (ia, id) per output column.
    let u = ia * 0.5 + ib * py + ic;
    let v = id * 0.5 + ie * py + iff;
    for (let x = 0; x < outW; x++, u += ia, v += id) {
      if (u < -EDGE_EPS || v < -EDGE_EPS || u > inW + EDGE_EPS || v > inH + EDGE_EPS) {
        for (let c = 0; c < C; c++) dst[o++] = fill;
        continue;
      }
      if (nearest) {
        let xi = Math.floor(u);
        let yi = Math.floor(v);
        if (xi > maxX) xi = maxX;
        else if (xi < 0) xi = 0;
        if (yi > maxY) yi = maxY;
        else if (yi < 0) yi = 0;
        const s = yi * rowStride + xi * C;
        for (let c = 0; c < C; c++) dst[o++] = src[s + c];
        continue;
      }
      let fx = u - 0.5;
      let fy = v - 0.5;
      if (fx < 0) fx = 0;
      else if (fx > maxX) fx = maxX;
      if (fy < 0) fy = 0;
      else if (fy > maxY) fy = maxY;
      const x0 = fx | 0;
      const y0 = fy | 0;
      const wx = fx - x0;
      const wy = fy - y0;
      const dx = x0 < maxX ? C : 0;
      const dy = y0 < maxY ? rowStride : 0;
      const s00 = y0 * rowStride + x0 * C;
      const w00 = (1 - wx) * (1 - wy);
      const w01 = wx * (1 - wy);
      const w10 = (1 - wx) * wy;
      const w11 = wx * wy;
      for (let c = 0; c < C; c++) {
        const s = s00 + c;
        dst[o++] = w00 * src[s] + w01 * src[s + dx] + w10 * src[s + dy] + w11 * src[s + dy + dx];
      }
    }
  }
  return { data: out, height: outH, width: outW, channels: C };
}
