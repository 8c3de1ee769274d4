import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createImage, type Image } from './image.js';
import { invert, posterize, solarize } from './lut-ops.js';

const of = (values: number[]): Image => {
  const img = createImage(1, values.length, 1);
  img.data.set(values);
  return img;
};

test('invert is 255 - x', () => {
  assert.deepEqual([...invert(of([0, 1, 128, 255])).data], [255, 254, 127, 0]);
});

test('solarize inverts values at or above the threshold only', () => {
  assert.deepEqual([...solarize(of([0, 127, 128, 200, 255]), 128).data], [0, 127, 127, 55, 0]);
  assert.deepEqual([...solarize(of([0, 255]), 256).data], [0, 255]);
  assert.deepEqual([...solarize(of([0, 255]), 0).data], [255, 0]);
});

test('posterize keeps the top bits', () => {
  assert.deepEqual([...posterize(of([0b10110111, 0b00001111, 255]), 4).data], [0b10110000, 0, 0b11110000]);
  assert.deepEqual([...posterize(of([183]), 8).data], [183]);
});

test('ops do not mutate their input', () => {
  const img = of([10, 20]);
  invert(img);
  assert.deepEqual([...img.data], [10, 20]);
});
