import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend, registerWasmTrainingKernels } from './index';
import { kernelModes, onBothBackends, randomValues, relError } from './test-support/compare';

before(async () => {
  delete process.env.SELFTRAIN_BACKEND;
  await initBackend();
});

for (const mode of kernelModes().filter((m) => m.threads == null)) test(`${mode.name}: BatchMatMul with transpose flags matches cpu`, async () => {
  registerWasmTrainingKernels(mode.options);
  const a = randomValues([2, 5, 7], 1);
  const b = randomValues([2, 7, 4], 2);
  const aT = randomValues([2, 7, 5], 3);
  const bT = randomValues([2, 4, 7], 4);
  const { wasm, cpu } = await onBothBackends([a, b, aT, bT], (at, bt, atT, btT) => [
    tf.matMul(at, bt),
    tf.matMul(atT, bt, true, false),
    tf.matMul(at, btT, false, true),
    tf.matMul(atT, btT, true, true),
    tf.matMul(tf.reshape(atT, [14, 5]), tf.reshape(bt, [14, 4]), true, false),
    // one side broadcast over the other's batch, and a rank-4 batch
    tf.matMul(at, tf.reshape(tf.slice(bt, [0, 0, 0], [1, 7, 4]), [7, 4])),
    tf.matMul(tf.slice(at, [0, 0, 0], [1, 5, 7]), btT, false, true),
    tf.matMul(tf.reshape(at, [2, 1, 5, 7]), tf.reshape(bt, [2, 1, 7, 4])),
  ]);
  wasm.forEach((w, i) => assert.ok(relError(w, cpu[i]) < 1e-5, `case ${i}: ${relError(w, cpu[i])}`));
});

for (const mode of kernelModes().filter((m) => m.threads == null)) test(`${mode.name}: Sum and Mean over leading and other axes match cpu`, async () => {
  registerWasmTrainingKernels(mode.options);
  const x = randomValues([3, 4, 5, 6], 5);
  const { wasm, cpu } = await onBothBackends([x], (xt) => [
    tf.sum(xt, [0, 1, 2]), tf.sum(xt, 0), tf.sum(xt, [0, 1], true), tf.sum(xt, [1, 3]), tf.sum(xt),
    tf.mean(xt, [0, 1, 2]), tf.mean(xt, [0, 1, 2], true), tf.mean(xt, -1),
  ]);
  wasm.forEach((w, i) => assert.ok(relError(w, cpu[i]) < 1e-5, `case ${i}: ${relError(w, cpu[i])}`));
});

test('Tile (repeat fast path, with and without outer axes, and general) matches cpu', async () => {
  const c = randomValues([1, 1, 1, 5], 6);
  const g = randomValues([2, 3], 7);
  const pooled = randomValues([3, 1, 1, 70], 8);
  const narrow = randomValues([3, 1, 1, 5], 10);
  const mid = randomValues([2, 3, 1, 1, 1, 64], 9);
  // the fast path with outer slices of 70, 64 and 5 floats
  const { wasm, cpu } = await onBothBackends([c, g, pooled, mid, narrow], (ct, gt, pt, mt, nt) => [
    tf.tile(ct, [2, 3, 4, 1]), tf.tile(ct, [3, 1, 1, 1]), tf.tile(gt, [2, 2]), tf.tile(gt, [3, 1]),
    tf.tile(pt, [1, 4, 3, 1]), tf.tile(mt, [1, 1, 2, 1, 3, 1]), tf.tile(mt, [1, 1, 1, 1, 1, 1]), tf.tile(pt, [2, 4, 3, 1]),
    tf.tile(nt, [1, 4, 3, 1]),
  ]);
  wasm.forEach((w, i) => assert.ok(relError(w, cpu[i]) < 1e-6, `case ${i}: ${relError(w, cpu[i])}`));
});

test('batch norm training gradients match cpu', async () => {
  const x = randomValues([4, 5, 5, 3], 8);
  const gamma = randomValues([3], 9);
  const beta = randomValues([3], 10);
  // A weighted sum, not sum(y^2): the latter's x-gradient cancels to ~0 and compares only rounding.
  const weights = randomValues([4, 5, 5, 3], 11);
  const { wasm, cpu } = await onBothBackends([x, gamma, beta, weights], (xt, gt, bt, wt) =>
    tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const { mean, variance } = tf.moments(a, [0, 1, 2]);
      return tf.batchNorm(a, mean, variance, b, g, 1e-5).mul(wt).sum();
    })([xt, gt, bt]));
  wasm.forEach((w, i) => assert.ok(relError(w, cpu[i]) < 1e-4, `grad ${i}: ${relError(w, cpu[i])}`));
});

test('Identity and same-dtype Cast share the buffer: values survive the original, nothing leaks, real casts convert', async () => {
  registerWasmTrainingKernels();
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const buffers = backend.numDataIds();
  const x = tf.tensor([1.5, -2, 3]);
  const id = tf.engine().runKernel('Identity', { x }, {}) as tf.Tensor;
  const same = tf.cast(x, 'float32');
  const toInt = tf.cast(x, 'int32');
  assert.equal(backend.numDataIds(), buffers + 2, 'one shared buffer for x, the identity and the float cast; one for the int cast');
  x.dispose();
  assert.deepEqual([...id.dataSync()], [1.5, -2, 3]);
  assert.deepEqual([...same.dataSync()], [1.5, -2, 3]);
  assert.deepEqual([...toInt.dataSync()], [1, -2, 3]);
  assert.equal(toInt.dtype, 'int32');
  tf.dispose([id, same, toInt]);
  assert.equal(backend.numDataIds(), buffers);
  // A variable updated in place keeps its clone's values apart.
  const v = tf.variable(tf.tensor([1, 2]));
  const snapshot = tf.clone(v);
  v.assign(tf.tensor([5, 6]));
  assert.deepEqual([...snapshot.dataSync()], [1, 2]);
  tf.dispose([v, snapshot]);
});
