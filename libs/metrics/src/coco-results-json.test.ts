import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cocoResultsJson, cornerToXywh, toCocoDetections } from './coco-results-json.js';

test('normalized corner boxes and contiguous labels become COCO results entries', () => {
  // 200x100 image: x 0.25..0.75 of 200 = 50..150, y 0.1..0.5 of 100 = 10..50 -> [50, 10, 100, 40].
  assert.deepEqual(cornerToXywh({ xmin: 0.25, ymin: 0.1, xmax: 0.75, ymax: 0.5 }, 200, 100), [50, 10, 100, 40]);
  const dets = toCocoDetections(397133, [{ xmin: 0.25, ymin: 0.1, xmax: 0.75, ymax: 0.5, label: 1, score: 0.8 }], 200, 100, [1, 18, 90]);
  assert.deepEqual(JSON.parse(JSON.stringify(cocoResultsJson(dets))), [{ image_id: 397133, category_id: 18, bbox: [50, 10, 100, 40], score: 0.8 }]);
  assert.equal(toCocoDetections(1, [{ xmin: 0, ymin: 0, xmax: 1, ymax: 1, label: 4, score: 1 }], 1, 1)[0].categoryId, 4);
  assert.throws(() => toCocoDetections(1, [{ xmin: 0, ymin: 0, xmax: 1, ymax: 1, label: 3, score: 1 }], 1, 1, [1, 2]), /label 3/);
});
