import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AnchorSet } from '@selftrain/models';
import { decodeDetections } from './index';

const anchors: AnchorSet = {
  boxes: Float32Array.from([0.1, 0.1, 0.5, 0.5, 0.12, 0.1, 0.52, 0.5, 0.6, 0.6, 0.9, 0.9, 0.0, 0.6, 0.3, 0.9]),
  count: 4, anchorsPerLocation: 1, levels: [{ level: 3, height: 2, width: 2, offset: 0, count: 4 }],
};
// 2 classes; anchor 0 and its near-duplicate 1 say class 1; anchor 2 class 2; anchor 3 nothing.
const logits = Float32Array.from([3, -9, 2, -9, -9, 1, -5, -5]);
const sig = (x: number) => 1 / (1 + Math.exp(-x));

test('decode: threshold, decoded boxes, 1-based labels, NMS drops the duplicate', () => {
  const deltas = new Float32Array(16);
  const [dets] = decodeDetections(logits, deltas, anchors, 2);
  assert.equal(dets.length, 2);
  assert.equal(dets[0].label, 1);
  assert.ok(Math.abs(dets[0].score - sig(3)) < 1e-6);
  assert.ok(Math.abs(dets[0].xmin - 0.1) < 1e-6 && Math.abs(dets[0].ymax - 0.5) < 1e-6);
  assert.equal(dets[1].label, 2);
  // A delta moves the box: dx = 1 is 10% of the anchor width.
  deltas[8] = 1;
  const [moved] = decodeDetections(logits, deltas, anchors, 2);
  assert.ok(Math.abs(moved[1].xmin - 0.63) < 1e-6, `${moved[1].xmin}`);
});

test('decode: Soft-NMS keeps the duplicate with a decayed score; top-k and max detections cut', () => {
  const deltas = new Float32Array(16);
  const [soft] = decodeDetections(logits, deltas, anchors, 2, { method: 'soft-nms' });
  assert.equal(soft.length, 3);
  const dup = soft.find((d) => Math.abs(d.xmin - 0.12) < 1e-6);
  assert.ok(dup && dup.score < sig(2) && dup.score > 0.001, `${dup?.score}`);
  assert.equal(decodeDetections(logits, deltas, anchors, 2, { preNmsTopK: 1 })[0].length, 1);
  assert.equal(decodeDetections(logits, deltas, anchors, 2, { maxDetections: 1, method: 'soft-nms' })[0].length, 1);
  assert.equal(decodeDetections(logits, deltas, anchors, 2, { scoreThreshold: 0.99 })[0].length, 0);
  // Two images in one call.
  const two = decodeDetections(Float32Array.from([...logits, ...logits]), new Float32Array(32), anchors, 2);
  assert.equal(two.length, 2);
  assert.throws(() => decodeDetections(logits, new Float32Array(4), anchors, 2), /do not match/);
});
