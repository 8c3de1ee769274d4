import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argmaxRows } from './argmax-rows.js';

test('argmax per row, ties to the lowest index', () => {
  const probs = Float32Array.from([0.1, 0.7, 0.2, 0.5, 0.25, 0.25, 0.3, 0.3, 0.4, 0.4, 0.4, 0.2]);
  assert.deepEqual([...argmaxRows(probs, 3)], [1, 0, 2, 0]);
  assert.equal(argmaxRows(new Float32Array(0), 3).length, 0);
  assert.throws(() => argmaxRows(new Float32Array(5), 3), /5 values, not a multiple of numClasses 3/);
});
