// Detection/segmentation scenes from real images: small grayscale items (Fashion-MNIST) pasted on
// a dark canvas. Because we paint every pixel, the boxes and masks are exact: a box is tight around
// the item's pixels still visible after later items occlude it, and the mask says whose pixel it is.
import type { BoxObject } from './annotation-features';

export interface SceneItem {
  /** size x size grayscale, row-major. */
  pixels: Uint8Array;
  size: number;
  /** Class index in the dataset's label space (1-based: 0 is the background). */
  label: number;
}

export interface Placement {
  item: SceneItem;
  /** Side of the pasted item in canvas pixels (nearest-neighbour resize). */
  side: number;
  /** Top-left corner on the canvas. */
  x: number;
  y: number;
}

export interface Scene {
  /** canvas x canvas grayscale. */
  image: Uint8Array;
  /** Per pixel: the class of the item that shows there, 0 = background. */
  mask: Uint8Array;
  /** One per item with a visible pixel, in paint order; `area` = its visible pixel count. */
  objects: BoxObject[];
}

export interface ComposeOptions {
  canvas: number;
  /** Item pixels at or below this intensity are transparent: they neither paint nor count for the box. */
  threshold: number;
}

/** Paints placements in order (later ones occlude earlier ones) and derives boxes and mask from what is visible. */
export function paintScene(placements: Placement[], opts: ComposeOptions): Scene {
  const { canvas, threshold } = opts;
  const image = new Uint8Array(canvas * canvas);
  const owner = new Int32Array(canvas * canvas).fill(-1);
  placements.forEach(({ item, side, x, y }, k) => {
    for (let r = 0; r < side; r++) {
      const cy = y + r;
      if (cy < 0 || cy >= canvas) continue;
      const sr = Math.floor(((r + 0.5) * item.size) / side);
      for (let c = 0; c < side; c++) {
        const cx = x + c;
        if (cx < 0 || cx >= canvas) continue;
        const v = item.pixels[sr * item.size + Math.floor(((c + 0.5) * item.size) / side)];
        if (v <= threshold) continue;
        image[cy * canvas + cx] = v;
        owner[cy * canvas + cx] = k;
      }
    }
  });
  const ext = placements.map(() => ({ x0: canvas, y0: canvas, x1: -1, y1: -1, n: 0 }));
  const mask = new Uint8Array(canvas * canvas);
  for (let i = 0; i < owner.length; i++) {
    const k = owner[i];
    if (k < 0) continue;
    mask[i] = placements[k].item.label;
    const e = ext[k];
    const px = i % canvas;
    const py = (i - px) / canvas;
    e.x0 = Math.min(e.x0, px);
    e.x1 = Math.max(e.x1, px);
    e.y0 = Math.min(e.y0, py);
    e.y1 = Math.max(e.y1, py);
    e.n++;
  }
  const objects: BoxObject[] = [];
  ext.forEach((e, k) => {
    if (e.n === 0) return; // fully hidden (or blank): no object to find
    // Pixel edges: a box over columns x0..x1 spans [x0, x1 + 1) of the canvas.
    objects.push({ xmin: e.x0 / canvas, ymin: e.y0 / canvas, xmax: (e.x1 + 1) / canvas, ymax: (e.y1 + 1) / canvas, label: placements[k].item.label, area: e.n });
  });
  return { image, mask, objects };
}

export interface SceneDraw {
  minItems: number;
  maxItems: number;
  minScale: number;
  maxScale: number;
}

/** Random placements of `pick()`ed items: count, scale and position from `rand`; items stay inside the canvas. */
export function drawPlacements(pick: () => SceneItem, rand: () => number, draw: SceneDraw, canvas: number): Placement[] {
  const count = draw.minItems + Math.floor(rand() * (draw.maxItems - draw.minItems + 1));
  return Array.from({ length: count }, () => {
    const item = pick();
    const side = Math.min(canvas, Math.max(1, Math.round(item.size * (draw.minScale + rand() * (draw.maxScale - draw.minScale)))));
    return { item, side, x: Math.floor(rand() * (canvas - side + 1)), y: Math.floor(rand() * (canvas - side + 1)) };
  });
}
