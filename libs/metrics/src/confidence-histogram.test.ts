import { test } from 'node:test';
import assert from 'node:assert/strict';
import { confidenceHistogram } from './confidence-histogram.js';

test('equal-width bins over [0, 1], 1.0 in the last bin', () => {
  assert.deepEqual(confidenceHistogram([0, 0.05, 0.1, 0.55, 0.99, 1]), [2, 1, 0, 0, 0, 1, 0, 0, 0, 2]);
  assert.deepEqual(confidenceHistogram(Float32Array.from([0.25, 0.5, 0.75, 1]), 2), [1, 3]);
  assert.throws(() => confidenceHistogram([0.5, 1.5]), /maxProbs\[1\] = 1.5 is outside \[0, 1\]/);
  assert.throws(() => confidenceHistogram([NaN]), /maxProbs\[0\] = NaN/);
  assert.throws(() => confidenceHistogram([0.5], 0), /bins must be a positive integer/);
});
