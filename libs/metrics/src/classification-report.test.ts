import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classificationReport } from './classification-report.js';

test('report combines top1, per-class accuracy, confusion and counts', () => {
  const r = classificationReport([0, 0, 0, 2, 2], [0, 0, 2, 2, 0], 3, ['cat', 'dog', 'owl']);
  assert.deepEqual(r, {
    top1: 0.6,
    perClassAccuracy: [2 / 3, 0, 0.5],
    confusion: [
      [2, 0, 1],
      [0, 0, 0],
      [1, 0, 1],
    ],
    count: 5,
    support: [3, 0, 2],
    emptyClasses: [1],
    classNames: ['cat', 'dog', 'owl'],
  });
  assert.deepEqual(classificationReport([1], [1], 2).classNames, ['0', '1']);
  assert.throws(() => classificationReport([0], [0], 2, ['a']), /classNames has 1 names but numClasses is 2/);
});
