// An RGBA pixel buffer and the few drawing operations the sample grid needs (rectangles, text,
// blits), so PNG figures are drawn in plain Node with pngjs and no native canvas.
import { PNG } from 'pngjs';
import { GLYPH_HEIGHT, GLYPH_WIDTH, glyph } from './bitmap-font';

export type Rgb = readonly [number, number, number];

export interface RgbaCanvas {
  width: number;
  height: number;
  /** width * height * 4 bytes, row-major RGBA. */
  data: Buffer;
}

export function createCanvas(width: number, height: number, fill: Rgb = [0, 0, 0]): RgbaCanvas {
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([fill[0], fill[1], fill[2], 255], i * 4);
  return { width, height, data };
}

export function setPixel(c: RgbaCanvas, x: number, y: number, rgb: Rgb): void {
  if (x < 0 || y < 0 || x >= c.width || y >= c.height) return;
  const i = (y * c.width + x) * 4;
  c.data[i] = rgb[0];
  c.data[i + 1] = rgb[1];
  c.data[i + 2] = rgb[2];
  c.data[i + 3] = 255;
}

export function getPixel(c: RgbaCanvas, x: number, y: number): [number, number, number, number] {
  const i = (y * c.width + x) * 4;
  return [c.data[i], c.data[i + 1], c.data[i + 2], c.data[i + 3]];
}

/** Fills [x, x + w) x [y, y + h), clipped to the canvas. */
export function fillRect(c: RgbaCanvas, x: number, y: number, w: number, h: number, rgb: Rgb): void {
  for (let yy = Math.max(0, y); yy < Math.min(c.height, y + h); yy++) {
    for (let xx = Math.max(0, x); xx < Math.min(c.width, x + w); xx++) setPixel(c, xx, yy, rgb);
  }
}

/** The outline of [x0, x1] x [y0, y1] (inclusive), `line` pixels thick, drawn inwards. */
export function strokeRect(c: RgbaCanvas, x0: number, y0: number, x1: number, y1: number, rgb: Rgb, line = 1): void {
  const w = x1 - x0 + 1;
  const h = y1 - y0 + 1;
  const t = Math.min(line, Math.ceil(w / 2), Math.ceil(h / 2));
  fillRect(c, x0, y0, w, t, rgb);
  fillRect(c, x0, y1 - t + 1, w, t, rgb);
  fillRect(c, x0, y0, t, h, rgb);
  fillRect(c, x1 - t + 1, y0, t, h, rgb);
}

/** `text` in the 3x5 font with its top-left corner at (x, y), each font pixel `scale` x `scale`. */
export function drawText(c: RgbaCanvas, x: number, y: number, text: string, rgb: Rgb, scale = 1): void {
  [...text].forEach((ch, n) => {
    const rows = glyph(ch);
    for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
        if (rows[gy][gx]) fillRect(c, x + (n * (GLYPH_WIDTH + 1) + gx) * scale, y + gy * scale, scale, scale, rgb);
      }
    }
  });
}

/** Copies `src` onto `dst` with its top-left corner at (x, y), clipped. */
export function blit(dst: RgbaCanvas, src: RgbaCanvas, x: number, y: number): void {
  for (let sy = 0; sy < src.height; sy++) {
    const dy = y + sy;
    if (dy < 0 || dy >= dst.height) continue;
    const from = Math.max(0, -x);
    const to = Math.min(src.width, dst.width - x);
    if (to <= from) continue;
    src.data.copy(dst.data, (dy * dst.width + x + from) * 4, (sy * src.width + from) * 4, (sy * src.width + to) * 4);
  }
}

/** Black or white, whichever reads better on `rgb` (Rec. 601 luma). */
export function inkOn(rgb: Rgb): Rgb {
  return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] > 140 ? [0, 0, 0] : [255, 255, 255];
}

export function encodeCanvasPng(c: RgbaCanvas): Buffer {
  return PNG.sync.write({ width: c.width, height: c.height, data: c.data } as PNG, { colorType: 6 });
}
