import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import { FASHION_MNIST_CLASS_NAMES, SCENE_CLASS_NAMES, writeShard, RECORD_FORMAT, type ImageRecord } from '@selftrain/data';
import { NotFoundError } from '@selftrain/errors';
import { DatasetManifest, DatasetTask, RunRecord, type Generation } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';
import { buildSampleGrid } from './build-sample-grid';
import { withDenseLabels } from './build-run-report';
import { sampleFromRecord } from './pseudo-label-samples';
import {
  boxColour, drawSampleGrid, GRID_PAD, ignoreHatch, LEGEND_ROW, maskColour, renderSampleTile, sampleGridLayout, sampleGridPng, tileOrigin, TILE_BORDER,
} from './sample-grid-png';
import { getPixel, type RgbaCanvas } from './rgba-canvas';

/** A grayscale image whose pixels differ from their neighbours and never reach 255 or a palette colour. */
function scene(key: string, size = 96, extra: Partial<ImageRecord> = {}): ImageRecord {
  const image = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) image[y * size + x] = 21 + ((x * 7 + y * 3) % 190);
  return { key, image, height: size, width: size, channels: 1, ...extra };
}

const rgbAt = (c: RgbaCanvas, x: number, y: number) => getPixel(c, x, y).slice(0, 3);
const grayOf = (r: ImageRecord, x: number, y: number) => { const v = r.image[y * r.width + x]; return [v, v, v]; };

test('detection: a box outline has its class colour, pixels inside and outside are the image, the tag sits above', () => {
  const r = scene('d', 96, { objects: [{ xmin: 0.25, ymin: 0.5, xmax: 0.75, ymax: 0.875, label: 3 }] });
  const tile = renderSampleTile(r, 'detection', 2); // 192 px; box pixels x 48..143, y 96..167, 2 px lines
  assert.equal(tile.width, 192);
  const colour = [...boxColour(3)];
  for (const [x, y] of [[48, 120], [49, 120], [143, 120], [142, 150], [100, 96], [100, 97], [100, 167], [48, 96], [143, 167]]) {
    assert.deepEqual(rgbAt(tile, x, y), colour, `outline at ${x},${y}`);
  }
  for (const [x, y] of [[50, 120], [141, 120], [100, 98], [100, 165], [96, 132], [20, 20], [47, 120], [144, 120], [100, 168]]) {
    assert.deepEqual(rgbAt(tile, x, y), grayOf(r, Math.floor(x / 2), Math.floor(y / 2)), `image at ${x},${y}`);
  }
  // The tag with the class id is drawn just above the box's top-left corner.
  assert.deepEqual(rgbAt(tile, 48, 95), colour);
  assert.deepEqual(rgbAt(tile, 48, 82), colour);
  assert.deepEqual(rgbAt(tile, 48, 81), grayOf(r, 24, 40));
  // Distinct classes get distinct colours; ids past the palette wrap around.
  assert.notDeepEqual(boxColour(1), boxColour(2));
  assert.deepEqual(boxColour(13), boxColour(1));
});

test('segmentation: the overlay changes exactly the masked pixels (class blended, ignore hatched white)', () => {
  const size = 32;
  const mask = new Uint8Array(size * size);
  for (let y = 4; y < 12; y++) for (let x = 6; x < 20; x++) mask[y * size + x] = 2;
  for (let y = 20; y < 28; y++) for (let x = 10; x < 18; x++) mask[y * size + x] = 255;
  const r = scene('s', size, { mask });
  const plain = renderSampleTile(r, 'classification', 1);
  const tile = renderSampleTile(r, 'segmentation', 1);
  const voc2 = maskColour(2);
  assert.deepEqual([...voc2], [0, 128, 0], 'VOC class 2');
  let changed = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const m = mask[y * size + x];
      const before = rgbAt(plain, x, y);
      const after = rgbAt(tile, x, y);
      if (after.some((v, k) => v !== before[k])) changed++;
      if (m === 0) assert.deepEqual(after, before, `background ${x},${y} untouched`);
      else if (m === 2) assert.deepEqual(after, before.map((v, k) => Math.round(v * 0.5 + voc2[k] * 0.5)), `class pixel ${x},${y}`);
      else assert.deepEqual(after, ignoreHatch(x, y) ? [255, 255, 255] : before, `ignore pixel ${x},${y}`);
    }
  }
  const hatched = [...Array(64).keys()].filter((i) => ignoreHatch(10 + (i % 8), 20 + Math.floor(i / 8))).length;
  assert.equal(changed, 8 * 14 + hatched);
  // Upscaled, each mask pixel covers scale x scale tile pixels.
  const big = renderSampleTile(r, 'segmentation', 3);
  assert.deepEqual(rgbAt(big, 6 * 3 + 2, 4 * 3 + 2), grayOf(r, 6, 4).map((v, k) => Math.round(v * 0.5 + voc2[k] * 0.5)));
  assert.deepEqual(rgbAt(big, 5 * 3 + 2, 4 * 3 + 2), grayOf(r, 5, 4));
});

test('grid: the PNG decodes to the layout for N samples; frames, captions and legend for classification', () => {
  const records = Array.from({ length: 10 }, (_, i) => scene(`c${i}`, 28, { label: i % 3, confidence: 0.5 + i / 40 }));
  const layout = sampleGridLayout(records, 'classification', { columns: 4, scale: 1, classNames: FASHION_MNIST_CLASS_NAMES });
  assert.equal(layout.rows, 3);
  assert.equal(layout.width, GRID_PAD + 4 * (28 + 2 * TILE_BORDER + GRID_PAD));
  assert.equal(layout.gridHeight, GRID_PAD + 3 * (28 + 2 * TILE_BORDER + 10 + GRID_PAD + GRID_PAD), 'classification cells have a caption line');
  assert.ok(layout.legendRows >= 2, 'ten class names wrap');
  assert.equal(layout.height, layout.gridHeight + layout.legendRows * LEGEND_ROW + GRID_PAD);
  const png = PNG.sync.read(sampleGridPng(records, 'classification', { columns: 4, scale: 1, classNames: FASHION_MNIST_CLASS_NAMES }));
  assert.equal(png.width, layout.width);
  assert.equal(png.height, layout.height);

  const canvas = drawSampleGrid(records, 'classification', { columns: 4, scale: 1 });
  for (const i of [0, 5, 9]) {
    const { x, y } = tileOrigin(layout, i);
    assert.deepEqual(rgbAt(canvas, x - 1, y + 10), [...boxColour((i % 3) + 1)], `frame of sample ${i} in its class colour`);
    assert.deepEqual(rgbAt(canvas, x + 3, y + 4), grayOf(records[i], 3, 4), `image of sample ${i}`);
    const caption = Array.from({ length: 10 * 30 }, (_, k) => rgbAt(canvas, x + (k % 30), y + 28 + TILE_BORDER + GRID_PAD + Math.floor(k / 30)));
    assert.ok(caption.some((p) => p[0] > 200), `caption of sample ${i} has text`);
  }

  // Defaults: 96 px scenes at 2x, 8 per row.
  const scenes = Array.from({ length: 24 }, (_, i) => scene(`s${i}`, 96, { objects: [] }));
  const d = sampleGridLayout(scenes, 'detection');
  assert.deepEqual([d.scale, d.columns, d.rows], [2, 8, 3]);
  assert.equal(d.width, GRID_PAD + 8 * (192 + 2 * TILE_BORDER + GRID_PAD));
  assert.equal(d.legendRows, 0, 'no classes named, no boxes: no legend');
  assert.equal(sampleGridLayout(scenes.slice(0, 3), 'detection').columns, 3);
  assert.throws(() => sampleGridLayout([], 'detection'), /no samples/);
});

test('legend: detection lists the named classes (not background) in their box colours', () => {
  const records = [scene('a', 96, { objects: [{ xmin: 0.1, ymin: 0.1, xmax: 0.4, ymax: 0.4, label: 1 }] })];
  const layout = sampleGridLayout(records, 'detection', { classNames: SCENE_CLASS_NAMES, scale: 1 });
  assert.ok(layout.legendRows >= 3, `ten entries over a 104 px strip wrap, got ${layout.legendRows}`);
  const canvas = drawSampleGrid(records, 'detection', { classNames: SCENE_CLASS_NAMES, scale: 1 });
  assert.deepEqual(rgbAt(canvas, GRID_PAD + 2, layout.gridHeight + 2), [...boxColour(1)], 'first swatch is class 1');
});

function memoryStore(objects: Map<string, Buffer>): ObjectStore {
  return {
    bucket: 'b',
    get: async (k: string) => { const v = objects.get(k); if (!v) throw new NotFoundError(k); return v; },
    getJson: async (k: string) => { const v = objects.get(k); if (!v) throw new NotFoundError(k); return JSON.parse(v.toString('utf8')); },
  } as unknown as ObjectStore;
}

const gen = (index: number, shards: { key: string; records: number }[]): Generation =>
  ({ index, pseudoShards: shards.map((s) => ({ ...s, sha256: '', sizeBytes: 0 })) }) as unknown as Generation;

test('buildSampleGrid: the last generation with pseudo-labels, first shards until count; task from the manifest; clear errors', async () => {
  const objects = new Map<string, Buffer>();
  const box = { xmin: 0.2, ymin: 0.2, xmax: 0.6, ymax: 0.7, label: 2 };
  objects.set('p/g0-0', writeShard(Array.from({ length: 5 }, (_, i) => scene(`a${i}`, 96, { objects: [box] }))));
  objects.set('p/g1-0', writeShard(Array.from({ length: 5 }, (_, i) => scene(`b${i}`, 96, { objects: [box] }))));
  objects.set('p/g1-1', writeShard(Array.from({ length: 5 }, (_, i) => scene(`c${i}`, 96, { objects: [] }))));
  const store = memoryStore(objects);
  const record = RunRecord.fromPartial({
    runId: 'det', dataset: 'datasets/scenes', state: 'running',
    generations: [gen(0, [{ key: 'p/g0-0', records: 5 }]), gen(1, [{ key: 'p/empty', records: 0 }, { key: 'p/g1-0', records: 5 }, { key: 'p/g1-1', records: 5 }]), gen(2, [])],
  });
  // No manifest: the records' boxes say detection.
  const grid = await buildSampleGrid(store, record, { count: 7 });
  assert.deepEqual([grid.generation, grid.task, grid.samples, grid.shards], [1, 'detection', 7, ['p/g1-0', 'p/g1-1']]);
  const png = PNG.sync.read(grid.png);
  const layout = sampleGridLayout(Array.from({ length: 7 }, () => scene('x', 96, { objects: [box] })), 'detection');
  assert.equal(layout.legendRows, 1, 'class 2 in the legend');
  assert.deepEqual([png.width, png.height], [layout.width, layout.height]);

  // With the manifest: its task and class names (the legend); --generation picks one.
  objects.set('datasets/scenes/manifest.json', Buffer.from(JSON.stringify(DatasetManifest.toJSON(DatasetManifest.fromPartial({
    name: 'scenes', recordFormat: RECORD_FORMAT, task: DatasetTask.DATASET_TASK_SEGMENTATION, classNames: SCENE_CLASS_NAMES,
  })))));
  const g0 = await buildSampleGrid(store, record, { generation: 0, count: 24 });
  assert.deepEqual([g0.generation, g0.task, g0.samples], [0, 'segmentation', 5]);

  await assert.rejects(buildSampleGrid(store, record, { generation: 2 }), (e: Error) => e instanceof NotFoundError && /run det has no pseudo-labels in generation 2/.test(e.message));
  await assert.rejects(buildSampleGrid(store, record, { generation: 7 }), /run det has no generation 7 \(generations: 0, 1, 2\)/);
  const fresh = RunRecord.fromPartial({ runId: 'fresh', state: 'running', generations: [gen(0, [])] });
  await assert.rejects(buildSampleGrid(store, fresh), (e: Error) => e instanceof NotFoundError && /run fresh has no pseudo-labels yet/.test(e.message));
});

test('the HTML report shows detection and segmentation samples with their boxes and masks drawn', () => {
  const base = { key: 'd', image: new Uint8Array(32 * 32).fill(60), height: 32, width: 32, channels: 1 };
  const det = withDenseLabels(sampleFromRecord({ ...base, objects: [{ xmin: 0.25, ymin: 0.25, xmax: 0.75, ymax: 0.75, label: 3 }] }, 's'));
  const png = PNG.sync.read(Buffer.from(det.dataUri.split(',')[1], 'base64'));
  assert.deepEqual([png.width, png.height, det.width, det.caption], [64, 64, 64, '1 box']);
  const at = (x: number, y: number) => [...png.data.subarray(4 * (y * 64 + x), 4 * (y * 64 + x) + 3)];
  assert.deepEqual(at(16, 32), [...boxColour(3)], 'the box outline in its class colour');
  assert.deepEqual(at(32, 32), [60, 60, 60], 'inside the box: the image');
  const mask = new Uint8Array(32 * 32).fill(0);
  mask.fill(255, 0, 256);
  const seg = withDenseLabels(sampleFromRecord({ ...base, mask }, 's'));
  assert.equal(seg.caption, '25 % ignored');
  const plain = sampleFromRecord({ ...base, label: 1, confidence: 0.9 }, 's');
  assert.equal(withDenseLabels(plain), plain, 'classification samples are unchanged');
});
