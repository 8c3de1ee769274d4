import { test } from 'node:test';
import assert from 'node:assert/strict';
import { meanIou, SegmentationConfusion } from './segmentation-iou.js';

test('hand-checked 2x3 mask: the ignore pixel is excluded, IoU per class and the mean', () => {
  // labels 0 0 1 / 1 255 2, predictions 0 1 1 / 1 0 0. Counted pairs (t,p): (0,0) (0,1) (1,1) (1,1) (2,0).
  // Confusion rows: [1,1,0], [0,2,0], [1,0,0]; column sums 2, 3, 0.
  // IoU0 = 1 / (2 + 2 - 1) = 1/3; IoU1 = 2 / (2 + 3 - 2) = 2/3; IoU2 = 0 / (1 + 0 - 0) = 0; mean = 1/3.
  const r = meanIou([0, 0, 1, 1, 255, 2], [0, 1, 1, 1, 0, 0], 3);
  assert.deepEqual(r.perClassIou, [1 / 3, 2 / 3, 0]);
  assert.ok(Math.abs(r.meanIou - 1 / 3) < 1e-12);
  assert.equal(r.pixelAccuracy, 3 / 5);
  assert.equal(r.pixels, 5);
});

test('a class absent from labels and predictions is left out of the mean; images accumulate', () => {
  const cm = new SegmentationConfusion(4);
  cm.add([0, 1], [0, 1]).add([1, 1, 255], [1, 0, 3]);
  // Rows: [1,0,0,0], [1,2,0,0]. IoU0 = 1 / (1 + 2 - 1) = .5, IoU1 = 2 / (3 + 2 - 2) = 2/3, classes 2 and 3: null.
  // The prediction 3 under an ignore pixel is not counted, so class 3 stays absent.
  const r = cm.report();
  assert.deepEqual(r.perClassIou, [0.5, 2 / 3, null, null]);
  assert.ok(Math.abs(r.meanIou - (0.5 + 2 / 3) / 2) < 1e-12);
  assert.deepEqual(cm.counts, [[1, 0, 0, 0], [1, 2, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]);
});

test('bad input names the pixel', () => {
  assert.throws(() => meanIou([0, 7], [0, 0], 3), /labels\[1\] = 7/);
  assert.throws(() => meanIou([0, 1], [0, 255], 3), /predictions\[1\] = 255/);
  assert.throws(() => meanIou([0], [0, 1], 3), /1 pixels but predictions has 2/);
  // Nothing counted: 0, not NaN, with pixels 0 and every class absent.
  assert.deepEqual(meanIou([255], [0], 2), { perClassIou: [null, null], meanIou: 0, pixelAccuracy: 0, pixels: 0 });
});
