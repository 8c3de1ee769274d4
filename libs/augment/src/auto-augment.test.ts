import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AUTOAUGMENT_IMAGENET_POLICY, sampleAutoAugment } from './auto-augment.js';
import { createRng } from '@selftrain/random';
import { RANDAUGMENT_OPS } from './sample-op.js';

test('the ImageNet policy has 25 sub-policies of two valid (op, p, magnitude) triples', () => {
  assert.equal(AUTOAUGMENT_IMAGENET_POLICY.length, 25);
  for (const sub of AUTOAUGMENT_IMAGENET_POLICY) {
    assert.equal(sub.length, 2);
    for (const [op, p, m] of sub) {
      assert.ok(RANDAUGMENT_OPS.includes(op), op);
      assert.ok(p >= 0 && p <= 1);
      assert.ok(m === null || (Number.isInteger(m) && m >= 0 && m <= 9));
    }
  }
});

test('a sample applies at most two ops and, over many draws, both', () => {
  const rng = createRng(2);
  const sizes = new Set<number>();
  for (let i = 0; i < 200; i++) sizes.add(sampleAutoAugment(rng, 28, 28).length);
  assert.deepEqual([...sizes].sort(), [0, 1, 2]);
});
