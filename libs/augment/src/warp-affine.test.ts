import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rotateMatrix, scaleMatrix, translateMatrix } from './geometric-matrices.js';
import { createImage } from './image.js';
import { warpAffine } from './warp-affine.js';

test('rotate 90 degrees with nearest sampling moves the top-right pixel to the top-left', () => {
  const img = createImage(4, 4, 1);
  img.data[0 * 4 + 3] = 200;
  const out = warpAffine(img, rotateMatrix(90, 4, 4), { interpolation: 'nearest' });
  assert.equal(out.data[0], 200);
  assert.equal(out.data.reduce((s, v) => s + v, 0), 200);
  // Four quarter turns are the identity.
  const src = createImage(5, 5, 3);
  src.data.forEach((_, i) => (src.data[i] = (i * 37) % 256));
  let r = src;
  for (let k = 0; k < 4; k++) r = warpAffine(r, rotateMatrix(90, 5, 5), { interpolation: 'nearest' });
  assert.deepEqual(r.data, src.data);
});

test('translate shifts by the expected amount and fills the uncovered part', () => {
  const img = createImage(2, 4, 1);
  img.data.set([1, 2, 3, 4, 5, 6, 7, 8]);
  const out = warpAffine(img, translateMatrix(2, 0), { fill: 9 });
  assert.deepEqual([...out.data], [9, 9, 1, 2, 9, 9, 5, 6]);
  const up = warpAffine(img, translateMatrix(0, -1), { fill: 0 });
  assert.deepEqual([...up.data], [5, 6, 7, 8, 0, 0, 0, 0]);
});

test('a pure scale is a half-pixel-centre bilinear resize', () => {
  const img = createImage(1, 2, 1);
  img.data.set([0, 100]);
  const out = warpAffine(img, scaleMatrix(2, 1), { height: 1, width: 4 });
  assert.deepEqual([...out.data], [0, 25, 75, 100]);
  // Downscale by 2 averages 2x2 blocks.
  const big = createImage(2, 2, 1);
  big.data.set([10, 20, 30, 40]);
  assert.deepEqual([...warpAffine(big, scaleMatrix(0.5, 0.5), { height: 1, width: 1 }).data], [25]);
});

test('multi-channel pixels stay together', () => {
  const img = createImage(1, 2, 3);
  img.data.set([1, 2, 3, 4, 5, 6]);
  const out = warpAffine(img, translateMatrix(1, 0), { fill: 0 });
  assert.deepEqual([...out.data], [0, 0, 0, 1, 2, 3]);
});
