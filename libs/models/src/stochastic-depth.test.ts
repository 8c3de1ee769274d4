import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '@selftrain/compute';
import { StochasticDepth } from './index';

test('training keeps or drops the whole residual branch per example; inference scales it by 1 - rate', () => {
  const layer = new StochasticDepth({ rate: 0.5 });
  tf.tidy(() => {
    const shortcut = tf.zeros([400, 2, 2, 3]);
    const residual = tf.ones([400, 2, 2, 3]);
    const train = layer.apply([shortcut, residual], { training: true }) as tf.Tensor;
    const perExample = (train.reshape([400, 12]).arraySync() as number[][]);
    for (const row of perExample) assert.ok(row.every((v) => v === row[0]) && (row[0] === 0 || row[0] === 1));
    const kept = perExample.filter((r) => r[0] === 1).length;
    assert.ok(kept > 150 && kept < 250, `kept ${kept} of 400 at rate 0.5`);
    const inference = layer.apply([shortcut, residual]) as tf.Tensor;
    assert.ok(Array.from(inference.dataSync()).every((v) => v === 0.5));
  });
});

test('rate 0 is a plain residual add; bad rates are rejected', () => {
  const layer = new StochasticDepth({ rate: 0 });
  tf.tidy(() => {
    const out = layer.apply([tf.ones([2, 3]), tf.ones([2, 3])], { training: true }) as tf.Tensor;
    assert.deepEqual(Array.from(out.dataSync()), [2, 2, 2, 2, 2, 2]);
  });
  assert.throws(() => new StochasticDepth({ rate: 1 }), /rate must be in \[0, 1\)/);
});
