import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyAffine, composeAffine, IDENTITY_AFFINE, invertAffine } from './affine.js';
import { rotateMatrix, scaleMatrix, translateMatrix } from './geometric-matrices.js';

const close = (a: readonly number[], b: readonly number[]) =>
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-9, `${a} vs ${b}`));

test('compose applies first, then second', () => {
  const m = composeAffine(scaleMatrix(2, 3), translateMatrix(1, -1));
  close(applyAffine(m, 1, 1), [3, 2]);
});

test('invert undoes the transform and rejects singular matrices', () => {
  const m = composeAffine(rotateMatrix(37, 10, 20), translateMatrix(4, 5));
  close(composeAffine(m, invertAffine(m)), IDENTITY_AFFINE);
  assert.throws(() => invertAffine([0, 0, 1, 0, 0, 1]), /singular/);
});

test('rotation by 90 degrees is counter-clockwise about the centre', () => {
  // Right of centre moves to above centre (y grows downwards).
  close(applyAffine(rotateMatrix(90, 4, 4), 3, 2), [2, 1]);
});
