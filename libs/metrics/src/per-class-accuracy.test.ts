import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classSupport, perClassAccuracy } from './per-class-accuracy.js';

test('diagonal over row sum; an empty class gets 0, not NaN', () => {
  const confusion = [
    [3, 1, 0],
    [0, 0, 0],
    [1, 1, 2],
  ];
  assert.deepEqual(perClassAccuracy(confusion), [0.75, 0, 0.5]);
  assert.deepEqual(classSupport(confusion), [4, 0, 4]);
});
