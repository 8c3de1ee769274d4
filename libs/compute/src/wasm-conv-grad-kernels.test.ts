import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend, registerWasmTrainingKernels, setNativeThreads } from './index';
import { kernelModes, onBothBackends, randomValues, relError } from './test-support/compare';

before(async () => {
  delete process.env.SELFTRAIN_BACKEND;
  const info = await initBackend();
  assert.equal(info.name, 'wasm');
});

interface Case { b: number; h: number; w: number; ci: number; co: number; f: number; s: number; pad: 'valid' | 'same' }

const cases: Case[] = [];
for (const s of [1, 2]) {
  for (const pad of ['valid', 'same'] as const) {
    for (const [h, w] of [[7, 7], [8, 8], [9, 6]]) {
      for (const [ci, co, f] of [[1, 4, 3], [3, 8, 3], [8, 5, 1], [4, 6, 5], [2, 3, 2]]) {
        if (pad === 'valid' && (f > h || f > w)) continue;
        cases.push({ b: 3, h, w, ci, co, f, s, pad });
      }
    }
  }
}
// Batch 1 and odd channel counts (3 -> 5, 5 -> 3), 1x1 and 3x3, both strides and paddings.
for (const s of [1, 2]) {
  for (const pad of ['valid', 'same'] as const) {
    for (const [ci, co, f] of [[5, 3, 3], [3, 5, 1], [5, 7, 1]]) cases.push({ b: 1, h: 7, w: 6, ci, co, f, s, pad });
  }
}
// Rectangular strides and the exact shapes of the default model's layers.
cases.push({ b: 2, h: 10, w: 9, ci: 3, co: 4, f: 3, s: 3, pad: 'same' });
cases.push({ b: 4, h: 28, w: 28, ci: 1, co: 32, f: 3, s: 1, pad: 'same' });
cases.push({ b: 4, h: 28, w: 28, ci: 32, co: 32, f: 3, s: 2, pad: 'same' });
cases.push({ b: 4, h: 14, w: 14, ci: 64, co: 64, f: 3, s: 2, pad: 'same' });

const name = (c: Case) => `${c.b}x${c.h}x${c.w}x${c.ci} f${c.f} -> ${c.co}, stride ${c.s}, ${c.pad}`;

for (const mode of kernelModes()) test(`${mode.name}: Conv2D, FusedConv2D, Conv2DBackpropFilter and Conv2DBackpropInput match the cpu backend`, async (t) => {
  registerWasmTrainingKernels(mode.options);
  setNativeThreads(mode.threads ?? 1);
  t.after(() => setNativeThreads(1));
  for (const c of cases) {
    await t.test(name(c), async () => {
      const x = randomValues([c.b, c.h, c.w, c.ci], 1);
      const filter = randomValues([c.f, c.f, c.ci, c.co], 2);
      type S4 = [number, number, number, number];
      const outShape = tf.backend_util.computeConv2DInfo(x.shape as S4, filter.shape as S4, c.s, 1, c.pad).outShape;
      const dy = randomValues(outShape, 3);
      const bias = randomValues([c.co], 4);
      const { wasm, cpu } = await onBothBackends([x, filter, dy, bias], (xt, ft, dyt, bt) => [
        tf.conv2d(xt as tf.Tensor4D, ft as tf.Tensor4D, c.s, c.pad),
        tf.fused.conv2d({ x: xt as tf.Tensor4D, filter: ft as tf.Tensor4D, strides: c.s, pad: c.pad, bias: bt, activation: 'relu' }),
        tf.conv2dTranspose(dyt as tf.Tensor4D, ft as tf.Tensor4D, x.shape as [number, number, number, number], c.s, c.pad),
        tf.grad((f: tf.Tensor) => tf.conv2d(xt as tf.Tensor4D, f as tf.Tensor4D, c.s, c.pad))(ft, dyt),
      ]);
      ['y', 'fused y (bias + relu)', 'dx', 'dW'].forEach((what, i) =>
        assert.ok(relError(wasm[i], cpu[i]) < 1e-5, `${what} rel err ${relError(wasm[i], cpu[i])}`));
    });
  }
});

for (const mode of kernelModes()) test(`${mode.name}: fused conv (bias + relu, what tf.layers uses) trains to the same gradients as cpu`, async (t) => {
  registerWasmTrainingKernels(mode.options);
  setNativeThreads(mode.threads ?? 1);
  t.after(() => setNativeThreads(1));
  const x = randomValues([2, 9, 9, 3], 4);
  const filter = randomValues([3, 3, 3, 6], 5);
  const bias = randomValues([6], 6);
  const { wasm, cpu } = await onBothBackends([x, filter, bias], (xt, ft, bt) => {
    const g = tf.grads((a: tf.Tensor, f: tf.Tensor, b: tf.Tensor) =>
      tf.fused.conv2d({ x: a as tf.Tensor4D, filter: f as tf.Tensor4D, bias: b, strides: 2, pad: 'same', activation: 'relu' }).square().sum());
    return g([xt, ft, bt]);
  });
  for (let i = 0; i < 3; i++) assert.ok(relError(wasm[i], cpu[i]) < 1e-5, `grad ${i}: ${relError(wasm[i], cpu[i])}`);
});

for (const mode of kernelModes()) test(`${mode.name}: kernels free every intermediate (engine tensors and wasm buffers)`, (t) => {
  registerWasmTrainingKernels(mode.options);
  setNativeThreads(mode.threads ?? 1);
  t.after(() => setNativeThreads(1));
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const x = tf.randomNormal([3, 9, 9, 4]) as tf.Tensor4D;
  const f = tf.randomNormal([3, 3, 4, 5]) as tf.Tensor4D;
  const run = () => tf.tidy(() => {
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same').sum());
    g([x, f]).forEach((t) => t.dataSync());
    tf.matMul(tf.ones([4, 3]), tf.ones([5, 3]), false, true).dataSync();
    tf.sum(x, [0, 1, 2]).dataSync();
    tf.tile(tf.ones([1, 1, 5]), [2, 3, 1]).dataSync();
  });
  run();
  const tensors = tf.memory().numTensors;
  const buffers = backend.numDataIds();
  run();
  run();
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(backend.numDataIds(), buffers);
  x.dispose();
  f.dispose();
});

test('unsupported configurations fail with a clear error', () => {
  registerWasmTrainingKernels({ native: false });
  const dy = tf.zeros([1, 4, 4, 2]);
  const filter = tf.zeros([3, 3, 2, 2]);
  assert.throws(
    () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, {
      strides: 1, pad: 'same', dataFormat: 'NCHW', inputShape: [1, 2, 4, 4],
    } as unknown as tf.NamedAttrMap),
    /only dataFormat NHWC/,
  );
  tf.dispose([dy, filter]);
});
