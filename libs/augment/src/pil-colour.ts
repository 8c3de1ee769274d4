// The arithmetic of PIL (Pillow) that AutoAugment's and RandAugment's reference code runs its colour ops
// through, reproduced exactly for RGB images:
// - Image.blend(degenerate, image, alpha), ImageEnhance's core: out = in1 + alpha * (in2 - in1) in C float
//   (float32), truncated to uint8, clipped only when alpha is outside 0..1 (libImaging/Blend.c);
// - convert('L'): L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16, ITU-R 601-2 luma in 16-bit fixed point
//   (libImaging/Convert.c), i.e. R*299/1000 + G*587/1000 + B*114/1000 rounded.

/** Image.blend of one value; `alpha` must already be Math.fround(factor) (C passes a float). */
export function pilBlend(in1: number, in2: number, alpha: number): number {
  const t = Math.fround(in1 + Math.fround(alpha * (in2 - in1)));
  return t <= 0 ? 0 : t >= 255 ? 255 : Math.trunc(t);
}

/** The 256-entry table of pilBlend(degenerate, v, factor), for a degenerate image of one flat value. */
export function pilBlendLut(degenerate: number, factor: number): Uint8Array {
  const alpha = Math.fround(factor);
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = pilBlend(degenerate, v, alpha);
  return lut;
}

/** PIL's convert('L') of one RGB pixel. */
export function pilLuma(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;
}
