import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nms, pseudoLabelBoxes, softNms, type ScoredBox } from './nms.js';

const box = (xmin: number, xmax: number, score: number, label = 0, ymin = 0, ymax = 10): ScoredBox => ({ xmin, ymin, xmax, ymax, score, label });
const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} != ${b}`);

test('hard NMS: suppresses IoU above the threshold within a class, keeps other classes, ties in input order', () => {
  const a = box(0, 10, 0.9);
  const b = box(1, 11, 0.8); // IoU with a: 90 / 110 = .82 -> suppressed
  const c = box(20, 30, 0.7);
  const d = box(1, 11, 0.6, 1); // same place as b but another class
  assert.deepEqual(nms([c, b, a, d]), [a, c, d]);
  assert.deepEqual(nms([c, b, a, d], { perClass: false }), [a, c]);
  // IoU exactly 0.5 ([0,5] x [0,10] inside [0,10] x [0,10]: 50 / 100) is not above 0.5: kept.
  const half = box(0, 10, 0.5, 0, 0, 5);
  assert.deepEqual(nms([a, half]), [a, half]);
  const tie1 = box(0, 10, 0.9);
  const tie2 = box(0, 10, 0.9);
  assert.equal(nms([tie1, tie2])[0], tie1);
});

test('Gaussian Soft-NMS (sigma .3) decays overlapping scores, re-ranks, and decays again after each pick', () => {
  // A [0,10], B [5,15], C [10,20] (all 10 high). IoU(A,B) = 50/150 = 1/3, IoU(B,C) = 1/3, IoU(A,C) = 0 (they touch).
  // Pick A (.9): B -> .85 * exp(-(1/9)/.3) = .85 * .690479 = .586907; C untouched (.8).
  // Pick C (.8): B -> .586907 * .690479 = .405247. Pick B.
  const out = softNms([box(5, 15, 0.85), box(0, 10, 0.9), box(10, 20, 0.8)]);
  assert.deepEqual(out.map((b) => b.xmin), [0, 10, 5]);
  close(out[0].score, 0.9);
  close(out[1].score, 0.8);
  close(out[2].score, 0.85 * Math.exp(-1 / 9 / 0.3) ** 2);
  assert.ok(Math.abs(out[2].score - 0.405247) < 1e-6);
  // Hard NMS at .5 keeps all three (IoU 1/3); with a pseudo-label cut at .5 Soft-NMS keeps A and C.
  assert.equal(nms([box(5, 15, 0.85), box(0, 10, 0.9), box(10, 20, 0.8)]).length, 3);
  assert.deepEqual(pseudoLabelBoxes([box(5, 15, 0.85), box(0, 10, 0.9), box(10, 20, 0.8)], { method: 'soft-nms' }).map((b) => b.xmin), [0, 10]);
});

test('Soft-NMS: a near-duplicate falls to a low score, other classes are untouched, tiny scores are dropped, input is not mutated', () => {
  // IoU(a, b) = 81/121: b -> .8 * exp(-(81/121)/.3) = .8 * .107377 = .085902.
  const a = box(0, 10, 0.9);
  const b = box(1, 11, 0.8);
  const other = box(1, 11, 0.8, 3);
  const out = softNms([a, b, other]);
  assert.deepEqual(out.map((x) => [x.label, x.xmin]), [[0, 0], [3, 1], [0, 1]]);
  assert.ok(Math.abs(out[2].score - 0.085902) < 1e-6);
  assert.equal(b.score, 0.8);
  // A duplicate (IoU 1) decays to .8 * exp(-1/.3) = .0285; with scoreThreshold .05 it is dropped.
  assert.equal(softNms([a, box(0, 10, 0.8)], { scoreThreshold: 0.05 }).length, 1);
  // pseudo-labels after hard NMS: score >= .5 only.
  assert.deepEqual(pseudoLabelBoxes([a, box(30, 40, 0.49), box(50, 60, 0.5)]).map((x) => x.score), [0.9, 0.5]);
});
