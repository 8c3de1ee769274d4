// PIL ImageEnhance-style ops: blend the image with a "degenerate" version,
// out = degenerate + factor * (img - degenerate). Factor 1 is the identity, 0 the degenerate image,
// above 1 extrapolates.
// RGB images (3 channels) get PIL's exact arithmetic (pil-colour.ts: float32 blend truncated, PIL's
// fixed-point luma), as the AutoAugment / RandAugment reference code computes them. Grey images keep the
// rounding they had before RGB support, so the trained figures of the grey datasets do not move.
import type { Image } from './image.js';
import { applyLut } from './lut-ops.js';
import { pilBlend, pilBlendLut, pilLuma } from './pil-colour.js';

function blendLut(degenerate: number, factor: number): Uint8Array {
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) {
    lut[v] = Math.max(0, Math.min(255, Math.round(degenerate + factor * (v - degenerate))));
  }
  return lut;
}

/** Degenerate: black. */
export function brightness(img: Image, factor: number): Image {
  return applyLut(img, img.channels === 3 ? pilBlendLut(0, factor) : blendLut(0, factor));
}

/** Degenerate: a flat image at the mean grey level (luma for RGB; PIL: int(mean of convert('L') + 0.5)). */
export function contrast(img: Image, factor: number): Image {
  const { data: src, channels: C } = img;
  if (C === 3) {
    let sumL = 0;
    for (let i = 0; i < src.length; i += 3) sumL += pilLuma(src[i], src[i + 1], src[i + 2]);
    return applyLut(img, pilBlendLut(Math.floor(sumL / (src.length / 3) + 0.5), factor));
  }
  let sum = 0;
  if (C >= 3) {
    for (let i = 0; i < src.length; i += C) sum += 0.299 * src[i] + 0.587 * src[i + 1] + 0.114 * src[i + 2];
  } else {
    for (let i = 0; i < src.length; i += C) sum += src[i];
  }
  const mean = Math.round(sum / (src.length / C));
  return applyLut(img, blendLut(mean, factor));
}

/** Saturation. Degenerate: the luma of each pixel. Needs 3+ channels; grayscale images are returned as is. */
export function color(img: Image, factor: number): Image {
  const { data: src, channels: C } = img;
  if (C < 3) return img;
  if (C === 3) return colorRgb(img, factor);
  const out = new Uint8Array(src.length);
  const dst = new Uint8ClampedArray(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < src.length; i += C) {
    const r = src[i];
    const g = src[i + 1];
    const b = src[i + 2];
    const grey = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    dst[i] = grey + factor * (r - grey);
    dst[i + 1] = grey + factor * (g - grey);
    dst[i + 2] = grey + factor * (b - grey);
    for (let c = 3; c < C; c++) out[i + c] = src[i + c];
  }
  return { data: out, height: img.height, width: img.width, channels: C };
}

/** PIL's Color on RGB: each channel blended with the pixel's luma. */
function colorRgb(img: Image, factor: number): Image {
  const src = img.data;
  const out = new Uint8Array(src.length);
  const alpha = Math.fround(factor);
  for (let i = 0; i < src.length; i += 3) {
    const l = pilLuma(src[i], src[i + 1], src[i + 2]);
    out[i] = pilBlend(l, src[i], alpha);
    out[i + 1] = pilBlend(l, src[i + 1], alpha);
    out[i + 2] = pilBlend(l, src[i + 2], alpha);
  }
  return { data: out, height: img.height, width: img.width, channels: 3 };
}

/**
 * Degenerate: the image smoothed with PIL's SMOOTH kernel [[1,1,1],[1,5,1],[1,1,1]]/13, border pixels
 * left unsmoothed (as PIL does), so factor < 1 blurs and > 1 sharpens.
 */
export function sharpness(img: Image, factor: number): Image {
  const { data: src, height: H, width: W, channels: C } = img;
  const out = src.slice();
  if (H < 3 || W < 3) return { data: out, height: H, width: W, channels: C };
  const dst = new Uint8ClampedArray(out.buffer, out.byteOffset, out.length);
  const alpha = Math.fround(factor);
  const rgb = C === 3;
  const row = W * C;
  for (let y = 1; y < H - 1; y++) {
    for (let x = 1; x < W - 1; x++) {
      const p = y * row + x * C;
      for (let c = 0; c < C; c++) {
        const i = p + c;
        const s =
          src[i - row - C] + src[i - row] + src[i - row + C] +
          src[i - C] + 5 * src[i] + src[i + C] +
          src[i + row - C] + src[i + row] + src[i + row + C];
        // PIL: truncate(s / 13 + 0.5) in float32; s / 13 is never within float error of a half, so this is exact.
        const degenerate = Math.round(s / 13);
        if (rgb) out[i] = pilBlend(degenerate, src[i], alpha);
        else dst[i] = degenerate + factor * (src[i] - degenerate);
      }
    }
  }
  return { data: out, height: H, width: W, channels: C };
}
