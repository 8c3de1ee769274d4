// A PNG grid of pseudo-labeled samples, so a user can see what the teacher taught: detection boxes in
// a colour per class with the class id on a tag, segmentation masks alpha-blended in the VOC palette
// (ignore pixels hatched white), classification images framed in their class's colour with the
// label and confidence below. A legend strip maps colours to class ids and names. Pure: records in,
// PNG bytes out.
import { vocPalette, type BoxObject, type ImageRecord, type Task } from '@selftrain/data';
import { IGNORE_LABEL } from '@selftrain/metrics';
import { GLYPH_HEIGHT, textWidth } from './bitmap-font';
import { pseudoLabelOf } from './pseudo-label-samples';
import { blit, createCanvas, drawText, encodeCanvasPng, fillRect, inkOn, setPixel, strokeRect, type Rgb, type RgbaCanvas } from './rgba-canvas';

export interface SampleGridOptions {
  /** Class names by id (a scene manifest's start with 'background'); the legend shows them. */
  classNames?: readonly string[];
  /** Tiles per row (default min(8, samples)). */
  columns?: number;
  /** Integer upscaling of each image (default: tiles of about 192 px, e.g. 2 for 96 px, 7 for 28 px). */
  scale?: number;
}

/** Gap between cells and around the grid, frame around each image, legend row height (pixels). */
export const GRID_PAD = 4;
export const TILE_BORDER = 3;
const FONT_SCALE = 2;
const TEXT_HEIGHT = GLYPH_HEIGHT * FONT_SCALE;
export const LEGEND_ROW = TEXT_HEIGHT + 4;
const SWATCH = TEXT_HEIGHT;
const MASK_ALPHA = 0.5;
const BACKGROUND: Rgb = [40, 40, 40];
const FRAME: Rgb = [90, 90, 90];
const TEXT: Rgb = [235, 235, 235];
const WHITE: Rgb = [255, 255, 255];

// Sasha Trubetskoy's distinct colours: no grey among them, unlike VOC's (class 7 is grey), so boxes
// and frames stand out on grayscale images.
const BOX_PALETTE: readonly Rgb[] = [
  [230, 25, 75], [60, 180, 75], [255, 225, 25], [67, 99, 216], [245, 130, 49], [145, 30, 180],
  [66, 212, 244], [240, 50, 230], [191, 239, 69], [250, 190, 212], [70, 153, 144], [220, 190, 255],
];
const VOC = vocPalette();

/** The colour of a box of (1-based) class `label`; classification label l shares class l + 1's colour. */
export function boxColour(label: number): Rgb {
  return BOX_PALETTE[(((label - 1) % BOX_PALETTE.length) + BOX_PALETTE.length) % BOX_PALETTE.length];
}

/** The VOC palette colour of mask class `id` (what encodePaletteMaskPng writes). */
export function maskColour(id: number): Rgb {
  return [VOC[id * 3], VOC[id * 3 + 1], VOC[id * 3 + 2]];
}

/** True where an ignore pixel at tile position (x, y) is drawn white; the others show the image. */
export function ignoreHatch(x: number, y: number): boolean {
  return (x + y) % 4 < 2;
}

function defaultScale(records: readonly ImageRecord[]): number {
  const side = Math.max(1, ...records.map((r) => Math.max(r.width, r.height)));
  return Math.max(1, Math.round(192 / side));
}

/** The record's image upscaled `scale` times (nearest neighbour), as RGB. */
export function imageCanvas(r: ImageRecord, scale: number): RgbaCanvas {
  const c = createCanvas(r.width * scale, r.height * scale);
  for (let y = 0; y < c.height; y++) {
    for (let x = 0; x < c.width; x++) {
      const i = (Math.floor(y / scale) * r.width + Math.floor(x / scale)) * r.channels;
      setPixel(c, x, y, r.channels >= 3 ? [r.image[i], r.image[i + 1], r.image[i + 2]] : [r.image[i], r.image[i], r.image[i]]);
    }
  }
  return c;
}

/** Blends the mask's classes over the tile (background 0 untouched, ignore hatched white). */
export function overlayMask(tile: RgbaCanvas, mask: Uint8Array, width: number, height: number, scale: number): void {
  if (mask.length !== width * height) throw new Error(`mask has ${mask.length} pixels for a ${height}x${width} image`);
  for (let y = 0; y < tile.height; y++) {
    for (let x = 0; x < tile.width; x++) {
      const m = mask[Math.floor(y / scale) * width + Math.floor(x / scale)];
      if (m === 0) continue;
      if (m === IGNORE_LABEL) {
        if (ignoreHatch(x, y)) setPixel(tile, x, y, WHITE);
        continue;
      }
      const colour = maskColour(m);
      const i = (y * tile.width + x) * 4;
      for (let k = 0; k < 3; k++) tile.data[i + k] = Math.round(tile.data[i + k] * (1 - MASK_ALPHA) + colour[k] * MASK_ALPHA);
    }
  }
}

/** Pixel bounds (inclusive) of a normalized box on a tile. */
export function boxPixels(o: { xmin: number; ymin: number; xmax: number; ymax: number }, tileWidth: number, tileHeight: number) {
  const clamp = (v: number, hi: number) => Math.min(hi, Math.max(0, v));
  return {
    x0: clamp(Math.floor(o.xmin * tileWidth), tileWidth - 1), y0: clamp(Math.floor(o.ymin * tileHeight), tileHeight - 1),
    x1: clamp(Math.ceil(o.xmax * tileWidth) - 1, tileWidth - 1), y1: clamp(Math.ceil(o.ymax * tileHeight) - 1, tileHeight - 1),
  };
}

/** Outlines each box in its class colour, `line` pixels thick inwards, with the class id on a tag above it (inside when at the top edge). */
export function drawBoxes(tile: RgbaCanvas, objects: readonly BoxObject[], line: number): void {
  const fontScale = line >= 2 ? 2 : 1;
  for (const o of objects) {
    const colour = boxColour(o.label);
    const { x0, y0, x1, y1 } = boxPixels(o, tile.width, tile.height);
    strokeRect(tile, x0, y0, x1, y1, colour, line);
    const text = String(o.label);
    const tagW = textWidth(text, fontScale) + 2 * fontScale;
    const tagH = (GLYPH_HEIGHT + 2) * fontScale;
    const tagY = y0 - tagH >= 0 ? y0 - tagH : y0;
    fillRect(tile, x0, tagY, tagW, tagH, colour);
    drawText(tile, x0 + fontScale, tagY + fontScale, text, inkOn(colour), fontScale);
  }
}

/** One sample's image with its pseudo-label drawn on it (no frame, no caption). */
export function renderSampleTile(r: ImageRecord, task: Task, scale: number): RgbaCanvas {
  const tile = imageCanvas(r, scale);
  if (task === 'detection') drawBoxes(tile, r.objects ?? [], Math.max(1, scale));
  if (task === 'segmentation' && r.mask) overlayMask(tile, r.mask, r.width, r.height, scale);
  return tile;
}

interface LegendEntry {
  text: string;
  colour: Rgb;
  hatched?: boolean;
}

function legendEntries(records: readonly ImageRecord[], task: Task, classNames: readonly string[] | undefined): LegendEntry[] {
  const ids = new Set<number>();
  if (classNames?.length) {
    // Scene manifests name the background 0; it has no box and no overlay colour.
    for (let i = task === 'classification' ? 0 : 1; i < classNames.length; i++) ids.add(i);
  }
  let ignored = false;
  for (const r of records) {
    if (task === 'detection') for (const o of r.objects ?? []) ids.add(o.label);
    if (task === 'segmentation' && r.mask) for (const m of r.mask) { if (m === IGNORE_LABEL) ignored = true; else if (m !== 0) ids.add(m); }
    if (task === 'classification') { const { classId } = pseudoLabelOf(r); if (classId >= 0) ids.add(classId); }
  }
  const entries: LegendEntry[] = [...ids].sort((a, b) => a - b).map((id) => ({
    text: classNames?.[id] ? `${id} ${classNames[id]}` : String(id),
    colour: task === 'segmentation' ? maskColour(id) : boxColour(task === 'classification' ? id + 1 : id),
  }));
  if (task === 'segmentation' && ignored) entries.push({ text: `${IGNORE_LABEL} ignore`, colour: WHITE, hatched: true });
  return entries;
}

const entryWidth = (e: LegendEntry) => SWATCH + 4 + textWidth(e.text, FONT_SCALE);

/** Legend entries placed left to right, wrapping at `width`. */
function legendPlaces(entries: readonly LegendEntry[], width: number): { x: number; row: number }[] {
  const places: { x: number; row: number }[] = [];
  let x = GRID_PAD;
  let row = 0;
  for (const e of entries) {
    if (x > GRID_PAD && x + entryWidth(e) > width - GRID_PAD) { x = GRID_PAD; row++; }
    places.push({ x, row });
    x += entryWidth(e) + 3 * GRID_PAD;
  }
  return places;
}

export interface SampleGridLayout {
  scale: number;
  columns: number;
  rows: number;
  tileWidth: number;
  tileHeight: number;
  cellWidth: number;
  cellHeight: number;
  width: number;
  /** Height of the grid of cells; the legend strip is below it. */
  gridHeight: number;
  legendRows: number;
  height: number;
}

/** Where everything goes: cells of frame + tile (+ a caption line for classification), then the legend. */
export function sampleGridLayout(records: readonly ImageRecord[], task: Task, opts: SampleGridOptions = {}): SampleGridLayout {
  if (records.length === 0) throw new Error('no samples to draw');
  const scale = opts.scale ?? defaultScale(records);
  if (!(Number.isInteger(scale) && scale >= 1)) throw new Error(`scale must be a positive integer, got ${scale}`);
  const columns = Math.min(opts.columns ?? 8, records.length);
  if (!(Number.isInteger(columns) && columns >= 1)) throw new Error(`columns must be a positive integer, got ${opts.columns}`);
  const rows = Math.ceil(records.length / columns);
  const tileWidth = Math.max(...records.map((r) => r.width)) * scale;
  const tileHeight = Math.max(...records.map((r) => r.height)) * scale;
  const cellWidth = tileWidth + 2 * TILE_BORDER;
  const cellHeight = tileHeight + 2 * TILE_BORDER + (task === 'classification' ? TEXT_HEIGHT + GRID_PAD : 0);
  const entries = legendEntries(records, task, opts.classNames);
  const width = Math.max(GRID_PAD + columns * (cellWidth + GRID_PAD), ...entries.map((e) => entryWidth(e) + 2 * GRID_PAD));
  const gridHeight = GRID_PAD + rows * (cellHeight + GRID_PAD);
  const legendRows = entries.length === 0 ? 0 : legendPlaces(entries, width).at(-1)!.row + 1;
  return { scale, columns, rows, tileWidth, tileHeight, cellWidth, cellHeight, width, gridHeight, legendRows, height: gridHeight + legendRows * LEGEND_ROW + (legendRows ? GRID_PAD : 0) };
}

/** Top-left corner of sample `index`'s image (inside its frame) on the grid. */
export function tileOrigin(layout: SampleGridLayout, index: number): { x: number; y: number } {
  const col = index % layout.columns;
  const row = Math.floor(index / layout.columns);
  return { x: GRID_PAD + col * (layout.cellWidth + GRID_PAD) + TILE_BORDER, y: GRID_PAD + row * (layout.cellHeight + GRID_PAD) + TILE_BORDER };
}

/** The grid as an RGBA canvas (sampleGridPng encodes it). */
export function drawSampleGrid(records: readonly ImageRecord[], task: Task, opts: SampleGridOptions = {}): RgbaCanvas {
  const layout = sampleGridLayout(records, task, opts);
  const canvas = createCanvas(layout.width, layout.height, BACKGROUND);
  records.forEach((r, i) => {
    const { x, y } = tileOrigin(layout, i);
    const label = task === 'classification' ? pseudoLabelOf(r) : undefined;
    const frame = label && label.classId >= 0 ? boxColour(label.classId + 1) : FRAME;
    fillRect(canvas, x - TILE_BORDER, y - TILE_BORDER, r.width * layout.scale + 2 * TILE_BORDER, r.height * layout.scale + 2 * TILE_BORDER, frame);
    blit(canvas, renderSampleTile(r, task, layout.scale), x, y);
    if (label) {
      const caption = `${label.classId >= 0 ? label.classId : '?'}${Number.isFinite(label.confidence) ? ` ${label.confidence.toFixed(2)}` : ''}`;
      drawText(canvas, x - TILE_BORDER, y + layout.tileHeight + TILE_BORDER + GRID_PAD, caption, TEXT, FONT_SCALE);
    }
  });
  const entries = legendEntries(records, task, opts.classNames);
  legendPlaces(entries, layout.width).forEach(({ x, row }, i) => {
    const e = entries[i];
    const y = layout.gridHeight + row * LEGEND_ROW;
    fillRect(canvas, x, y, SWATCH, SWATCH, e.hatched ? BACKGROUND : e.colour);
    if (e.hatched) for (let yy = 0; yy < SWATCH; yy++) for (let xx = 0; xx < SWATCH; xx++) if (ignoreHatch(xx, yy)) setPixel(canvas, x + xx, y + yy, WHITE);
    drawText(canvas, x + SWATCH + 4, y, e.text, TEXT, FONT_SCALE);
  });
  return canvas;
}

/** The grid as PNG bytes: samples in record order, row by row, then the legend. */
export function sampleGridPng(records: readonly ImageRecord[], task: Task, opts: SampleGridOptions = {}): Buffer {
  return encodeCanvasPng(drawSampleGrid(records, task, opts));
}
