// Point ops that are a fixed 256-entry lookup table: same table for every channel.
import type { Image } from './image.js';

/** out[i] = lut[in[i]] for every byte. */
export function applyLut(img: Image, lut: Uint8Array): Image {
  const src = img.data;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = lut[src[i]];
  return { data: out, height: img.height, width: img.width, channels: img.channels };
}

export function invert(img: Image): Image {
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = 255 - v;
  return applyLut(img, lut);
}

/** Inverts every value >= threshold (PIL semantics): threshold 256 is a no-op, 0 inverts everything. */
export function solarize(img: Image, threshold: number): Image {
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = v >= threshold ? 255 - v : v;
  return applyLut(img, lut);
}

/** Keeps the top `bits` bits of each value (bits in 0..8; 8 is a no-op). */
export function posterize(img: Image, bits: number): Image {
  const b = Math.max(0, Math.min(8, Math.round(bits)));
  const mask = (0xff << (8 - b)) & 0xff;
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = v & mask;
  return applyLut(img, lut);
}
