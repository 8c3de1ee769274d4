import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '@selftrain/compute';
import { decodeBox, generateAnchors, type AnchorSet } from '@selftrain/models';
import { assignDetectionTargets, detectionTargetTensors } from './index';

before(async () => {
  delete process.env.SELFTRAIN_BACKEND;
  await initBackend();
});

/** A hand-made one-level anchor set. */
function anchorSet(boxes: number[]): AnchorSet {
  const count = boxes.length / 4;
  return { boxes: Float32Array.from(boxes), count, anchorsPerLocation: 1, levels: [{ level: 3, height: 1, width: count, offset: 0, count }] };
}

const A = anchorSet([
  0, 0, 0.4, 0.4, //     IoU 1 with box 1: positive
  0, 0, 0.4, 0.18, //    IoU 0.45: between 0.4 and 0.5, ignored
  0, 0, 0.4, 0.12, //    IoU 0.3: background
  0.6, 0.6, 1, 1, //     IoU 0.0156 with the tiny box 2: only a low-quality match
]);
const gt = { boxes: [0, 0, 0.4, 0.4, 0.6, 0.6, 0.65, 0.65], labels: [3, 7] };

test('IoU >= 0.5 positive with the box label, < 0.4 background, between ignored; exact match -> zero regression', () => {
  const t = assignDetectionTargets(A, gt, { lowQualityMatches: false });
  assert.deepEqual(Array.from(t.classTargets), [3, -1, 0, 0]);
  assert.equal(t.numPositives, 1);
  assert.ok(t.boxTargets.slice(0, 4).every((v) => Math.abs(v) < 1e-6), 'an exact match has zero deltas (float32 anchors)');
  assert.ok(t.boxTargets.slice(4).every((v) => v === 0), 'no regression target off the positives');
});

test('low-quality matches (default): a box no anchor reaches 0.5 with still gets its best anchor', () => {
  const t = assignDetectionTargets(A, gt);
  assert.deepEqual(Array.from(t.classTargets), [3, -1, 0, 7]);
  assert.equal(t.numPositives, 2);
  // Its regression target decodes back to the tiny box.
  const back = new Float32Array(4);
  decodeBox(A.boxes, 3, t.boxTargets, 3, back, 0);
  back.forEach((v, i) => assert.ok(Math.abs(v - gt.boxes[4 + i]) < 1e-6, `${v} vs ${gt.boxes[4 + i]}`));
});

test('no boxes: every anchor is background; empty boxes are skipped; bad labels are refused', () => {
  assert.deepEqual(Array.from(assignDetectionTargets(A, { boxes: [], labels: [] }).classTargets), [0, 0, 0, 0]);
  assert.deepEqual(Array.from(assignDetectionTargets(A, { boxes: [0.2, 0.2, 0.2, 0.5], labels: [1] }).classTargets), [0, 0, 0, 0]);
  assert.throws(() => assignDetectionTargets(A, { boxes: [0, 0, 0.4, 0.4], labels: [0] }), /1-based/);
  assert.throws(() => assignDetectionTargets(A, { boxes: [0, 0, 0.4], labels: [1] }), /boxes/);
});

test('on real anchors: a box equal to an anchor makes that anchor positive with zero deltas; batch tensors', () => {
  const anchors = generateAnchors({ imageSize: [96, 96], minLevel: 3, maxLevel: 5 });
  const i = anchors.levels[1].offset + 9 * 7 + 4; // a P4 anchor
  const box = Array.from(anchors.boxes.slice(i * 4, i * 4 + 4));
  const t = assignDetectionTargets(anchors, { boxes: box, labels: [5] });
  assert.equal(t.classTargets[i], 5);
  assert.ok(t.boxTargets.slice(i * 4, i * 4 + 4).every((v) => Math.abs(v) < 1e-5));
  assert.ok(t.classTargets.some((v) => v === -1), 'neighbouring anchors fall in the ignore band');
  const tensors = detectionTargetTensors(anchors, [{ boxes: box, labels: [5] }, { boxes: [], labels: [] }]);
  assert.deepEqual(tensors.classTargets.shape, [2, anchors.count]);
  assert.deepEqual(tensors.boxTargets.shape, [2, anchors.count, 4]);
  assert.equal(tensors.classTargets.dtype, 'int32');
  assert.equal(tensors.numPositives, t.numPositives);
  tensors.classTargets.dispose();
  tensors.boxTargets.dispose();
});
