// Per-channel ops driven by the image's own histogram (PIL ImageOps semantics, cutoff 0).
// RGB images get PIL's exact tables (ImageOps.autocontrast truncates, ImageOps.equalize steps by the
// histogram / 256); grey images keep the tables they had before RGB support (rounded autocontrast,
// equalize by / 255 as torchvision and the TF reference do), so the grey datasets' figures do not move.
import type { Image } from './image.js';

/** PIL ImageOps.autocontrast's table for one channel: int(v * 255 / (hi - lo) - lo * 255 / (hi - lo)), clipped. */
function pilAutoContrastLut(lut: Uint8Array, lo: number, hi: number): void {
  if (hi <= lo) {
    for (let v = 0; v < 256; v++) lut[v] = v;
    return;
  }
  const scale = 255 / (hi - lo);
  const offset = -lo * scale;
  for (let v = 0; v < 256; v++) lut[v] = Math.max(0, Math.min(255, Math.trunc(v * scale + offset)));
}

/** PIL ImageOps.equalize's table for one channel's histogram. */
function pilEqualizeLut(lut: Uint8Array, hist: Uint32Array): void {
  let occupied = 0;
  let total = 0;
  let last = 0;
  for (let v = 0; v < 256; v++) {
    if (hist[v] === 0) continue;
    occupied++;
    total += hist[v];
    last = hist[v];
  }
  const step = Math.floor((total - last) / 256);
  if (occupied <= 1 || step === 0) {
    for (let v = 0; v < 256; v++) lut[v] = v;
    return;
  }
  let n = Math.floor(step / 2);
  for (let v = 0; v < 256; v++) {
    lut[v] = Math.min(255, Math.floor(n / step));
    n += hist[v];
  }
}

/** Linearly stretches each channel so its min maps to 0 and its max to 255; flat channels are kept. */
export function autoContrast(img: Image): Image {
  const { data: src, channels: C } = img;
  const out = new Uint8Array(src.length);
  const lut = new Uint8Array(256);
  for (let c = 0; c < C; c++) {
    let lo = 255;
    let hi = 0;
    for (let i = c; i < src.length; i += C) {
      const v = src[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (C === 3) {
      pilAutoContrastLut(lut, lo, hi);
    } else {
      for (let v = 0; v < 256; v++) {
        // Multiply before dividing so exact halves round as expected.
        lut[v] = hi > lo ? Math.max(0, Math.min(255, Math.round(((v - lo) * 255) / (hi - lo)))) : v;
      }
    }
    for (let i = c; i < src.length; i += C) out[i] = lut[src[i]];
  }
  return { data: out, height: img.height, width: img.width, channels: C };
}

/** Histogram equalisation per channel, the PIL ImageOps.equalize algorithm. */
export function equalize(img: Image): Image {
  const { data: src, channels: C } = img;
  const out = new Uint8Array(src.length);
  const hist = new Uint32Array(256);
  const lut = new Uint8Array(256);
  for (let c = 0; c < C; c++) {
    hist.fill(0);
    for (let i = c; i < src.length; i += C) hist[src[i]]++;
    if (C === 3) {
      pilEqualizeLut(lut, hist);
      for (let i = c; i < src.length; i += C) out[i] = lut[src[i]];
      continue;
    }
    let last = 255;
    while (last > 0 && hist[last] === 0) last--;
    const total = (src.length / C) | 0;
    // The top occupied bin is left out so it lands on 255 rather than beyond.
    const step = Math.floor((total - hist[last]) / 255);
    if (step === 0) {
      for (let v = 0; v < 256; v++) lut[v] = v;
    } else {
      let n = Math.floor(step / 2);
      for (let v = 0; v < 256; v++) {
        lut[v] = Math.min(255, Math.floor(n / step));
        n += hist[v];
      }
    }
    for (let i = c; i < src.length; i += C) out[i] = lut[src[i]];
  }
  return { data: out, height: img.height, width: img.width, channels: C };
}
