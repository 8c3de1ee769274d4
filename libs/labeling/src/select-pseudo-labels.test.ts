import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveLabelingOptions } from './labeling-options';
import { pseudoShardKeys } from './pseudo-shard-output';
import { selectPseudoLabels, type Prediction } from './select-pseudo-labels';

const p = (index: number, label: number, confidence: number): Prediction => ({ index, label, confidence });

test('hard labels keep confidence >= threshold and count the rest per class', () => {
  const o = resolveLabelingOptions({ threshold: 0.6, soft: false, balance: false, perClassCap: 0, softNms: false, dropEmptyImages: false, scales: [] });
  const s = selectPseudoLabels([p(0, 0, 0.9), p(1, 1, 0.6), p(2, 1, 0.59), p(3, 2, 0.2)], 3, o);
  assert.deepEqual(s.kept, [0, 1]);
  assert.deepEqual(s.keptPerClass, [1, 1, 0]);
  assert.deepEqual(s.droppedPerClass, [0, 1, 1]);
});

test('Noisy Student balancing: most confident K per class, duplicates fill small classes, > 0.3 only', () => {
  const o = resolveLabelingOptions({ soft: false, balance: true, perClassCap: 2, balanceMinConfidence: 0.3, softNms: false, dropEmptyImages: false, scales: [] });
  const preds = [p(0, 0, 0.5), p(1, 0, 0.9), p(2, 0, 0.7), p(3, 1, 0.8), p(4, 1, 0.25)];
  const s = selectPseudoLabels(preds, 2, o);
  // class 0: top-2 by confidence (1, 2), record 0 dropped; class 1: record 3 once, duplicated once; record 4 below 0.3.
  assert.deepEqual(s.kept, [1, 2, 3, 3]);
  assert.equal(s.duplicated, 1);
  assert.deepEqual(s.keptPerClass, [2, 1]);
  assert.deepEqual(s.droppedPerClass, [1, 1]);
});

test('balancing requires a cap; bad option values name the field', () => {
  assert.throws(() => resolveLabelingOptions({ threshold: 2, soft: false, balance: false, perClassCap: 0, softNms: false, dropEmptyImages: false, scales: [] }), /options\.threshold/);
  assert.throws(() => resolveLabelingOptions({ threshold: 0, soft: false, balance: true, perClassCap: 0, softNms: false, dropEmptyImages: false, scales: [] }), /options\.per_class_cap/);
  assert.throws(() => resolveLabelingOptions({ threshold: NaN, soft: false, balance: false, perClassCap: 0, softNms: false, dropEmptyImages: false, scales: [] }), /options\.threshold/);
});

test('the output key is a pure function of checkpoint, shard and options', () => {
  const o = resolveLabelingOptions(undefined);
  const a = pseudoShardKeys('runs/r/pseudo', 'ck1', 'sh1', o);
  assert.deepEqual(a, pseudoShardKeys('runs/r/pseudo', 'ck1', 'sh1', o));
  assert.notEqual(a.shard, pseudoShardKeys('runs/r/pseudo', 'ck2', 'sh1', o).shard);
  assert.notEqual(a.shard, pseudoShardKeys('runs/r/pseudo', 'ck1', 'sh2', o).shard);
  assert.notEqual(a.shard, pseudoShardKeys('runs/r/pseudo', 'ck1', 'sh1', { ...o, threshold: 0.7 }).shard);
  // The inference batch size changes speed, not labels: the same key, so a labeled shard is reused.
  assert.equal(a.shard, pseudoShardKeys('runs/r/pseudo', 'ck1', 'sh1', { ...o, batchSize: 7 }).shard);
});
