import { test } from 'node:test';
import assert from 'node:assert/strict';
import { autoContrast, equalize } from './histogram-ops.js';
import { createImage } from './image.js';

test('autocontrast stretches each channel to 0..255', () => {
  const img = createImage(1, 3, 2);
  img.data.set([50, 0, 100, 10, 150, 20]);
  const out = autoContrast(img);
  assert.deepEqual([...out.data], [0, 0, 128, 128, 255, 255]);
  const flat = createImage(2, 2, 1, 77);
  assert.deepEqual([...autoContrast(flat).data], [77, 77, 77, 77]);
});

test('equalize spreads a narrow histogram over the full range', () => {
  // 32x32 with four equally common values 100..103.
  const img = createImage(32, 32, 1);
  img.data.forEach((_, i) => (img.data[i] = 100 + (i % 4)));
  const out = equalize(img);
  assert.deepEqual(new Set(out.data), new Set([0, 85, 171, 255]));
  // A single-valued image is left alone.
  assert.deepEqual([...equalize(createImage(2, 2, 1, 9)).data], [9, 9, 9, 9]);
});
