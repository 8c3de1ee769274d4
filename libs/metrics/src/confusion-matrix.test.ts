import { test } from 'node:test';
import assert from 'node:assert/strict';
import { confusionMatrix } from './confusion-matrix.js';

test('rows are true classes, columns predictions', () => {
  // labels      0 0 1 1 1 2
  // predictions 0 1 1 1 2 0
  assert.deepEqual(confusionMatrix([0, 0, 1, 1, 1, 2], Int32Array.from([0, 1, 1, 1, 2, 0]), 3), [
    [1, 1, 0],
    [0, 2, 1],
    [1, 0, 0],
  ]);
  assert.deepEqual(confusionMatrix([], [], 2), [[0, 0], [0, 0]]);
});

test('errors name the problem', () => {
  assert.throws(() => confusionMatrix([0, 1], [0], 2), /labels has 2 entries but predictions has 1/);
  assert.throws(() => confusionMatrix([0, 3], [0, 1], 3), /labels\[1\] = 3 is not a class id in 0..2/);
  assert.throws(() => confusionMatrix([0, 1], [-1, 1], 3), /predictions\[0\] = -1 is not a class id/);
  assert.throws(() => confusionMatrix([0.5], [0], 3), /labels\[0\] = 0.5/);
  assert.throws(() => confusionMatrix([0], [0], 0), /numClasses must be a positive integer, got 0/);
});
