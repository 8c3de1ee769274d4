import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readIdxImages, readIdxLabels } from './idx';
import { drawPlacements, paintScene, type SceneItem } from './scene-composer';
import { mulberry32 } from '@selftrain/random';

const OPTS = { canvas: 96, threshold: 16 };

/** A 28x28 item whose only bright pixels are rows r0..r1, columns c0..c1. */
function block(label: number, r0: number, r1: number, c0: number, c1: number, value = 200): SceneItem {
  const pixels = new Uint8Array(28 * 28);
  for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) pixels[r * 28 + c] = value;
  pixels[28 * 28 - 1] = 10; // below the threshold: transparent, not part of the box
  return { pixels, size: 28, label };
}

test('a box is tight around the painted pixels, in pixel-edge fractions; area = visible pixels', () => {
  // Rows 5..9, columns 3..12 at (x 20, y 10), scale 1: canvas columns 23..32, rows 15..19.
  const s = paintScene([{ item: block(4, 5, 9, 3, 12), side: 28, x: 20, y: 10 }], OPTS);
  assert.deepEqual(s.objects, [{ xmin: 23 / 96, ymin: 15 / 96, xmax: 33 / 96, ymax: 20 / 96, label: 4, area: 50 }]);
  assert.equal(s.image[15 * 96 + 23], 200);
  assert.equal(s.image[37 * 96 + 47], 0, 'the faint pixel did not paint');
  assert.equal(s.mask.filter((v) => v === 4).length, 50);
  // Scale 2 (side 56): every source pixel becomes 2x2, so columns 3..12 -> 6..25, rows 5..9 -> 10..19.
  const big = paintScene([{ item: block(1, 5, 9, 3, 12), side: 56, x: 0, y: 0 }], OPTS);
  assert.deepEqual(big.objects[0], { xmin: 6 / 96, ymin: 10 / 96, xmax: 26 / 96, ymax: 20 / 96, label: 1, area: 200 });
});

test('later items occlude earlier ones: a partly hidden item shrinks its box, a fully hidden one has none', () => {
  const a = { item: block(2, 0, 9, 0, 9), side: 28, x: 0, y: 0 }; // canvas rows/cols 0..9
  const coverRight = { item: block(3, 0, 9, 5, 20), side: 28, x: 0, y: 0 }; // cols 5..20 over a's 5..9
  const s = paintScene([a, coverRight], OPTS);
  assert.deepEqual(s.objects.map((o) => [o.label, o.xmin * 96, o.xmax * 96, o.area]), [[2, 0, 5, 50], [3, 5, 21, 160]]);
  const coverAll = { item: block(5, 0, 20, 0, 20), side: 28, x: 0, y: 0 };
  const hidden = paintScene([a, coverAll], OPTS);
  assert.deepEqual(hidden.objects.map((o) => o.label), [5]);
  assert.equal(hidden.mask.filter((v) => v === 2).length, 0);
  // Painted in the other order, the small item sits on top and both are visible.
  assert.equal(paintScene([coverAll, a], OPTS).objects.length, 2);
});

test('scenes of real Fashion-MNIST items: masks agree with boxes and with the painted pixels', () => {
  const dir = '/usr/share/datasets/fashion-mnist';
  const imgs = readIdxImages(`${dir}/t10k-images-idx3-ubyte.gz`);
  const labels = readIdxLabels(`${dir}/t10k-labels-idx1-ubyte.gz`);
  const items: SceneItem[] = Array.from({ length: 200 }, (_, i) => ({ pixels: imgs.data.subarray(i * 784, (i + 1) * 784), size: 28, label: labels[i] + 1 }));
  const rand = mulberry32(5);
  const draw = { minItems: 1, maxItems: 6, minScale: 0.6, maxScale: 1.6 };
  let objects = 0;
  for (let n = 0; n < 30; n++) {
    const placements = drawPlacements(() => items[Math.floor(rand() * items.length)], rand, draw, 96);
    assert.ok(placements.length >= 1 && placements.length <= 6);
    for (const p of placements) assert.ok(p.side >= 17 && p.side <= 45 && p.x + p.side <= 96 && p.y + p.side <= 96);
    const s = paintScene(placements, OPTS);
    assert.ok(s.objects.length <= placements.length);
    objects += s.objects.length;
    // Painted exactly where the mask is non-background.
    for (let i = 0; i < s.image.length; i++) assert.equal(s.image[i] > 16, s.mask[i] > 0);
    for (const o of s.objects) {
      const [x0, y0, x1, y1] = [o.xmin * 96, o.ymin * 96, o.xmax * 96 - 1, o.ymax * 96 - 1].map(Math.round);
      // Tight: every edge of the box has a pixel of the box's class on it.
      const hasLabel = (xs: number[], ys: number[]) => xs.some((x) => ys.some((y) => s.mask[y * 96 + x] === o.label));
      const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
      assert.ok(hasLabel([x0], range(y0, y1)) && hasLabel([x1], range(y0, y1)) && hasLabel(range(x0, x1), [y0]) && hasLabel(range(x0, x1), [y1]));
    }
    // Every labeled pixel lies inside a box of its class.
    for (let i = 0; i < s.mask.length; i++) {
      if (s.mask[i] === 0) continue;
      const x = i % 96, y = Math.floor(i / 96);
      assert.ok(s.objects.some((o) => o.label === s.mask[i] && x >= o.xmin * 96 && x < o.xmax * 96 && y >= o.ymin * 96 && y < o.ymax * 96), `pixel ${i}`);
    }
  }
  assert.ok(objects > 60, `${objects} objects in 30 scenes`);
});
