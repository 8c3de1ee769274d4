import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend, registerWasmTrainingKernels } from './index';
import { installMeanGradient, uninstallMeanGradient } from './mean-gradient';
import { onBothBackends, randomValues } from './test-support/compare';

before(async () => {
  delete process.env.SELFTRAIN_BACKEND;
  await initBackend();
  registerWasmTrainingKernels();
});

/** Means as a model uses them: global average pooling, a loss's mean, a kept-dims mean over the last axis. */
const means = (x: tf.Tensor, w: tf.Tensor) => tf.grads((a: tf.Tensor) =>
  tf.add(tf.add(tf.mean(a, [1, 2]).mul(w).sum(), tf.mean(a)), tf.mean(a, -1, true).sum()))([x]);

test("Mean's gradient gives TF.js's own values exactly, on wasm and cpu, without a tensor of ones", async () => {
  const x = randomValues([3, 4, 5, 6], 1);
  const w = randomValues([3, 6], 2);
  const ours = await onBothBackends([x, w], (xt, wt) => means(xt, wt));
  uninstallMeanGradient();
  let stock: typeof ours;
  try {
    stock = await onBothBackends([x, w], (xt, wt) => means(xt, wt));
  } finally {
    installMeanGradient();
  }
  assert.deepEqual(ours.wasm, stock.wasm);
  assert.deepEqual(ours.cpu, stock.cpu);
});

/** Whether Mean's gradient multiplies something as large as the input (TF.js's own: dy times a tensor of ones). */
async function multipliesFullSize(): Promise<boolean> {
  await tf.setBackend('wasm');
  const x = tf.randomUniform([4, 6, 6, 8], 0, 1, 'float32', 3);
  const info = await tf.profile(() => tf.grads((a: tf.Tensor) => tf.mean(a, [1, 2]).sum())([x]));
  tf.dispose([x, info.result as tf.Tensor[]]);
  return info.kernels.some((k) => k.name === 'Multiply' && k.outputShapes.some((s) => tf.util.sizeFromShape(s as number[]) === x.size));
}

test("Mean's gradient builds no input-sized tensor of ones (TF.js's own does)", async () => {
  assert.equal(await multipliesFullSize(), false);
  uninstallMeanGradient();
  try {
    assert.equal(await multipliesFullSize(), true);
  } finally {
    installMeanGradient();
  }
});
