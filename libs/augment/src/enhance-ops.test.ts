import { test } from 'node:test';
import assert from 'node:assert/strict';
import { brightness, color, contrast, sharpness } from './enhance-ops.js';
import { createImage } from './image.js';

test('brightness scales towards black', () => {
  const img = createImage(1, 2, 1);
  img.data.set([200, 100]);
  assert.deepEqual([...brightness(img, 0.5).data], [100, 50]);
  assert.deepEqual([...brightness(img, 1.9).data], [255, 190]);
});

test('contrast 0 gives the flat mean, 1 the identity', () => {
  const img = createImage(1, 2, 1);
  img.data.set([100, 200]);
  assert.deepEqual([...contrast(img, 0).data], [150, 150]);
  assert.deepEqual([...contrast(img, 1).data], [100, 200]);
  assert.deepEqual([...contrast(img, 2).data], [50, 250]);
});

test('color 0 turns RGB grey and is a no-op on one channel', () => {
  const img = createImage(1, 1, 3);
  img.data.set([255, 0, 0]);
  assert.deepEqual([...color(img, 0).data], [76, 76, 76]);
  assert.deepEqual([...color(img, 1).data], [255, 0, 0]);
  const grey = createImage(1, 2, 1, 40);
  assert.deepEqual([...color(grey, 0).data], [40, 40]);
});

test('sharpness 0 smooths with the PIL kernel, 1 is the identity', () => {
  const img = createImage(3, 3, 1);
  img.data[4] = 255;
  assert.equal(sharpness(img, 0).data[4], Math.round((5 * 255) / 13));
  assert.equal(sharpness(img, 0).data[0], 0);
  assert.deepEqual(sharpness(img, 1).data, img.data);
});
