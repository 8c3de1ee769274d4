// Cutout: fills an axis-aligned rectangle. Boxes and masks are unaffected (it occludes, it doesn't move).
import type { Image } from './image.js';

/** Fills rows [y0, y1) and columns [x0, x1) (clipped to the image) with `fill`. */
export function cutout(img: Image, y0: number, x0: number, y1: number, x1: number, fill = 0): Image {
  const { height: H, width: W, channels: C } = img;
  const out = img.data.slice();
  const top = Math.max(0, y0);
  const bottom = Math.min(H, y1);
  const left = Math.max(0, x0);
  const right = Math.min(W, x1);
  if (left < right) {
    for (let y = top; y < bottom; y++) out.fill(fill, (y * W + left) * C, (y * W + right) * C);
  }
  return { data: out, height: H, width: W, channels: C };
}
