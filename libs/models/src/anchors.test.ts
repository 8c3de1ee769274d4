import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBox, encodeBox, generateAnchors, levelSize } from './index';

test('9 anchors per location on every level, level by level in order, sizes 4 x stride x scale', () => {
  const set = generateAnchors({ imageSize: [96, 96], minLevel: 3, maxLevel: 7 });
  assert.equal(set.anchorsPerLocation, 9);
  assert.deepEqual(set.levels.map((l) => [l.level, l.height, l.width]), [[3, 12, 12], [4, 6, 6], [5, 3, 3], [6, 2, 2], [7, 1, 1]]);
  let offset = 0;
  for (const l of set.levels) {
    assert.equal(l.offset, offset);
    assert.equal(l.count, l.height * l.width * 9);
    offset += l.count;
  }
  assert.equal(set.count, offset);
  assert.equal(set.count, (144 + 36 + 9 + 4 + 1) * 9);
  assert.equal(set.boxes.length, set.count * 4);
  // First location of P3: centre (4, 4) px; anchor a = ratioIndex * 3 + scaleIndex.
  const px = (i: number) => Array.from(set.boxes.slice(i * 4, i * 4 + 4), (v) => v * 96);
  const side = (i: number) => { const b = px(i); return [b[2] - b[0], b[3] - b[1]]; };
  const [w3, h3] = side(3); // ratio 1, scale 1: 32 x 32
  assert.ok(Math.abs(w3 - 32) < 1e-4 && Math.abs(h3 - 32) < 1e-4, `${w3}x${h3}`);
  const b3 = px(3);
  assert.ok(Math.abs((b3[0] + b3[2]) / 2 - 4) < 1e-4 && Math.abs((b3[1] + b3[3]) / 2 - 4) < 1e-4);
  const [w0, h0] = side(0); // ratio 0.5 (h / w), scale 1: same area, twice as wide as high
  assert.ok(Math.abs(w0 * h0 - 1024) < 1e-2 && Math.abs(w0 / h0 - 2) < 1e-4);
  const [w5] = side(5); // ratio 1, scale 2^(2/3)
  assert.ok(Math.abs(w5 - 32 * 2 ** (2 / 3)) < 1e-3);
  // Second location of P3 (x = 1) sits one stride (8 px) to the right; P4's first anchor is 64 px.
  assert.ok(Math.abs(px(9 + 3)[0] - px(3)[0] - 8) < 1e-4);
  assert.ok(Math.abs(side(set.levels[1].offset + 3)[0] - 64) < 1e-3);
});

test('levelSize rounds up like stride-2 same convs; anchors follow it for odd sizes', () => {
  assert.equal(levelSize(100, 3), 13);
  assert.equal(levelSize(100, 5), 4);
  const set = generateAnchors({ imageSize: [100, 80], minLevel: 3, maxLevel: 5, sizeFactor: 2, scales: [1], aspectRatios: [1] });
  assert.deepEqual(set.levels.map((l) => [l.height, l.width]), [[13, 10], [7, 5], [4, 3]]);
  assert.equal(set.anchorsPerLocation, 1);
});

test('encode/decode round trip; a box equal to its anchor encodes to zeros', () => {
  const anchors = [0.1, 0.2, 0.4, 0.6, 0.5, 0.5, 0.9, 0.7];
  const boxes = [0.12, 0.18, 0.45, 0.5, 0.5, 0.5, 0.9, 0.7];
  const deltas = new Float32Array(8);
  const back = new Float32Array(8);
  for (let i = 0; i < 2; i++) {
    encodeBox(anchors, i, boxes, i, deltas, i * 4);
    decodeBox(anchors, i, deltas, i, back, i * 4);
  }
  back.forEach((v, i) => assert.ok(Math.abs(v - boxes[i]) < 1e-6, `coord ${i}: ${v} vs ${boxes[i]}`));
  assert.deepEqual(Array.from(deltas.slice(4)), [0, 0, 0, 0]);
  // Variances: a shift of 10% of the anchor width is a delta of 1.
  const shifted = [0.13, 0.2, 0.43, 0.6];
  const d = new Float32Array(4);
  encodeBox(anchors, 0, shifted, 0, d, 0);
  assert.ok(Math.abs(d[0] - 1) < 1e-5 && Math.abs(d[1]) < 1e-6 && Math.abs(d[2]) < 1e-6);
});
