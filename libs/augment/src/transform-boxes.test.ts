import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Affine } from './affine.js';
import type { AugmentStep } from './augment-step.js';
import { rotateMatrix, translateMatrix } from './geometric-matrices.js';
import { scaleJitterMatrix, type ScaleJitter } from './scale-jitter.js';
import { type Box, transformBoxes } from './transform-boxes.js';

const affine = (matrix: Affine): AugmentStep => ({ kind: 'affine', op: 'TranslateX', value: 0, matrix });
const jitterStep = (j: ScaleJitter): AugmentStep => ({
  kind: 'affine',
  op: 'FlipScaleJitter',
  value: j.scale,
  matrix: scaleJitterMatrix(j, H, W),
  jitter: j,
});
// Boxes are normalized; these helpers let the expectations read in pixels of a 10 (high) x 20 (wide) image.
const H = 10;
const W = 20;
const px = (x0: number, y0: number, x1: number, y1: number, label = 1): Box => ({
  xmin: x0 / W,
  ymin: y0 / H,
  xmax: x1 / W,
  ymax: y1 / H,
  label,
});
const toPx = (b: Box) => [b.xmin * W, b.ymin * H, b.xmax * W, b.ymax * H].map((v) => Math.round(v * 1e9) / 1e9);

test('a flip at scale 1 mirrors boxes exactly', () => {
  const flip = jitterStep({ flip: true, scale: 1, scaledHeight: H, scaledWidth: W, offsetY: 0, offsetX: 0 });
  assert.deepEqual(toPx(transformBoxes([px(2, 1, 5, 4)], [flip], H, W).boxes[0]), [15, 1, 18, 4]);
});

test('scale jitter with padding scales and shifts boxes, and scales their area', () => {
  const pad = jitterStep({ flip: false, scale: 0.5, scaledHeight: 5, scaledWidth: 10, offsetY: 2, offsetX: 3 });
  const { boxes } = transformBoxes([{ ...px(4, 2, 12, 6), area: 20 }], [pad], H, W);
  assert.deepEqual(toPx(boxes[0]), [5, 3, 9, 5]);
  assert.equal(boxes[0].area, 5);
});

test('boxes are clipped to the frame; those that leave it or end under 1 px are dropped, labels stay aligned', () => {
  const input = [
    { ...px(14, 2, 18, 6, 3), isCrowd: true, area: 12, score: 0.9 },
    { ...px(17, 1, 19, 3, 4), score: 0.8 }, // pushed out entirely
    { ...px(16, 0, 18, 10, 5), score: 0.7 }, // 0.5 px of width left
    { ...px(6, 2, 8, 3, 6), score: 0.6 }, // exactly 1 px high: kept
  ];
  const before = structuredClone(input);
  const { boxes, kept } = transformBoxes(input, [affine(translateMatrix(3.5, 0))], H, W);
  assert.deepEqual(kept, [0, 3]);
  assert.deepEqual(boxes.map((b) => [b.label, b.score, b.isCrowd]), [[3, 0.9, true], [6, 0.6, undefined]]);
  assert.deepEqual(toPx(boxes[0]), [17.5, 2, 20, 6]);
  assert.equal(boxes[0].area, 12 * (2.5 / 4), 'area keeps the fraction of the box still in the frame');
  assert.deepEqual(toPx(boxes[1]), [9.5, 2, 11.5, 3]);
  assert.deepEqual(input, before, 'input untouched');
  assert.deepEqual(transformBoxes(input, [affine(translateMatrix(3.5, 0))], H, W, { minBoxSide: 3 }).kept, []);
});

test('what one step pushes out of the frame stays gone after the next step brings the box back', () => {
  const { boxes } = transformBoxes([px(12, 2, 18, 6)], [affine(translateMatrix(4, 0)), affine(translateMatrix(-4, 0))], H, W);
  assert.deepEqual(toPx(boxes[0]), [12, 2, 16, 6]);
});

test('rotation: the box is the hull of the rotated corners', () => {
  // 90 degrees CCW about the centre of a 20x20 image maps (x, y) to (y, 20 - x).
  const { boxes } = transformBoxes([{ xmin: 0.1, ymin: 0.2, xmax: 0.4, ymax: 0.3, label: 2 }], [affine(rotateMatrix(90, 20, 20))], 20, 20);
  assert.deepEqual([boxes[0].xmin, boxes[0].ymin, boxes[0].xmax, boxes[0].ymax].map((v) => Math.round(v * 20 * 1e9) / 1e9), [4, 12, 6, 18]);
  // 45 degrees: a centred 2x2 square becomes a diamond whose hull is 2*sqrt(2) wide.
  const square = { xmin: 0.45, ymin: 0.45, xmax: 0.55, ymax: 0.55, label: 2 };
  const d = transformBoxes([square], [affine(rotateMatrix(45, 20, 20))], 20, 20).boxes[0];
  assert.ok(Math.abs((d.xmax - d.xmin) * 20 - 2 * Math.SQRT2) < 1e-9);
});

test("'pixel' and 'cutout' steps leave boxes alone; a degenerate input box is dropped even then", () => {
  const plan: AugmentStep[] = [
    { kind: 'pixel', op: 'Invert', value: 0 },
    { kind: 'cutout', op: 'Cutout', value: 4, y0: 0, x0: 0, y1: 4, x1: 4 },
  ];
  const { boxes, kept } = transformBoxes([px(1, 1, 3, 3), px(5, 5, 5, 8)], plan, H, W);
  assert.deepEqual(kept, [0]);
  assert.deepEqual(toPx(boxes[0]), [1, 1, 3, 3]);
});

test('rejects malformed boxes and options, naming the box', () => {
  assert.throws(
    () => transformBoxes([px(1, 1, 3, 3), px(4, 1, 2, 3)], [], H, W),
    /boxes\[1\] must have finite coordinates with min <= max/,
  );
  assert.throws(() => transformBoxes([{ ...px(1, 1, 3, 3), xmin: NaN }], [], H, W), /boxes\[0\]/);
  assert.throws(() => transformBoxes([], [], H, W, { minBoxSide: -1 }), /minBoxSide must be a number >= 0, got -1/);
});
