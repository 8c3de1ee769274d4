import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend, nativeCpuKernels, registerWasmTrainingKernels, NATIVE_ADDON_PATH } from './index';
import { onBothBackends, randomValues, relError } from './test-support/compare';

const status = nativeCpuKernels();
// CI installs OpenBLAS and a compiler and sets this, so a build that silently lost the native kernels fails.
const expected = process.env.SELFTRAIN_EXPECT_NATIVE_KERNELS === '1';
const skip = status.loaded ? false : `native kernels not loaded: ${status.loaded ? '' : status.reason}`;

before(async () => {
  delete process.env.SELFTRAIN_BACKEND;
  await initBackend();
});

test('the native kernels load where CI expects them, and the backend says which kernels it runs', async () => {
  const info = await initBackend();
  if (expected) assert.ok(status.loaded, `expected native kernels from ${NATIVE_ADDON_PATH}: ${status.loaded ? '' : status.reason}`);
  if (status.loaded) {
    assert.match(info.kernels ?? '', /^native OpenBLAS \(.+\)$/);
    assert.notEqual(status.kernels.blasCore, 'Prescott', 'OpenBLAS fell back to its SSE3 kernels');
  } else {
    assert.equal(info.kernels, 'wasm');
    assert.equal(info.nativeUnavailable, status.reason);
  }
});

test('a whole training step (the default model) gives the same gradients on native and wasm kernels', { skip }, async () => {
  const x = tf.randomNormal([16, 28, 28, 1], 0, 1, 'float32', 1);
  const w1 = tf.randomNormal([3, 3, 1, 8], 0, 0.3, 'float32', 2);
  const w2 = tf.randomNormal([3, 3, 8, 16], 0, 0.3, 'float32', 3);
  const fc = tf.randomNormal([7 * 7 * 16, 10], 0, 0.1, 'float32', 4);
  const labels = tf.oneHot(tf.tensor1d([...Array(16).keys()].map((i) => i % 10), 'int32'), 10);
  const grads = (native: boolean) => {
    registerWasmTrainingKernels({ native });
    return tf.tidy(() => tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
      const h1 = tf.relu(tf.conv2d(x as tf.Tensor4D, a as tf.Tensor4D, 2, 'same'));
      const h2 = tf.relu(tf.conv2d(h1, b as tf.Tensor4D, 2, 'same'));
      const logits = tf.matMul(tf.reshape(h2, [16, -1]), c);
      return tf.losses.softmaxCrossEntropy(labels, logits);
    })([w1, w2, fc]).map((g) => g.dataSync() as Float32Array));
  };
  const native = grads(true);
  const wasm = grads(false);
  registerWasmTrainingKernels();
  native.forEach((g, i) => assert.ok(relError(g, wasm[i]) < 1e-5, `grad ${i}: ${relError(g, wasm[i])}`));
  assert.ok(native.every((g) => g.some((v) => v !== 0)), 'the gradients are not all zero');
  tf.dispose([x, w1, w2, fc, labels]);
});

test('convs the native kernels do not cover (dilation) still match cpu through the fallback', { skip }, async () => {
  registerWasmTrainingKernels({ native: true });
  const x = randomValues([2, 9, 9, 3], 1);
  const f = randomValues([3, 3, 3, 4], 2);
  const { wasm, cpu } = await onBothBackends([x, f], (xt, ft) => [
    tf.conv2d(xt as tf.Tensor4D, ft as tf.Tensor4D, 1, 'same', 'NHWC', 2),
  ]);
  assert.ok(relError(wasm[0], cpu[0]) < 1e-5, `rel err ${relError(wasm[0], cpu[0])}`);
});

test('the addon checks its buffers: a view shorter than the geometry needs is an error, not a write past it', { skip }, () => {
  if (!status.loaded) return;
  const k = status.kernels;
  const g = Int32Array.of(2, 5, 5, 3, 5, 5, 4, 3, 3, 1, 1, 1, 1);
  const x = new Float32Array(2 * 5 * 5 * 3);
  const w = new Float32Array(3 * 3 * 3 * 4);
  assert.throws(() => k.conv2d(x, w, new Float32Array(10), g), /output holds 10 floats, needs 200/);
  assert.throws(() => k.conv2d(x, w.subarray(1), new Float32Array(200), g), /second input holds 107 floats, needs 108/);
  assert.throws(() => k.conv2d(x, w, new Float32Array(200), Int32Array.of(1, 2, 3)), /geometry must be an Int32Array of 13/);
  assert.throws(() => k.gemm(x, w, new Float32Array(4), Int32Array.of(1, 2, 2, 0, 0, 0, 0, 0)), /dims out of range/);
});
