import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cutout } from './cutout.js';
import { createImage } from './image.js';

test('cutout fills the clipped rectangle', () => {
  const img = createImage(3, 3, 1, 5);
  const out = cutout(img, 1, 1, 5, 5, 0);
  assert.deepEqual([...out.data], [5, 5, 5, 5, 0, 0, 5, 0, 0]);
  assert.deepEqual([...img.data], new Array(9).fill(5));
});
