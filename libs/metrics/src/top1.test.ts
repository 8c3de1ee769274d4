import { test } from 'node:test';
import assert from 'node:assert/strict';
import { top1 } from './top1.js';

test('top1 is the fraction correct, 0 when empty', () => {
  assert.equal(top1([0, 1, 2, 3], [0, 1, 0, 0]), 0.5);
  assert.equal(top1(Uint8Array.from([4, 4, 4]), Int32Array.from([4, 4, 4])), 1);
  assert.equal(top1([], []), 0);
  assert.throws(() => top1([1], []), /labels has 1 entries but predictions has 0/);
});
