import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend, nativeCpuKernels, registerWasmTrainingKernels, setNativeThreads } from './index';
import { onBothBackends, randomValues, relError } from './test-support/compare';

const status = nativeCpuKernels();
const skip = status.loaded ? false : `native kernels not loaded: ${status.loaded ? '' : status.reason}`;

before(async () => {
  delete process.env.SELFTRAIN_BACKEND;
  await initBackend();
});

const shapes = [[1, 5, 5, 3], [3, 4, 6, 5], [2, 3, 3, 8], [7, 2]];
/** Large enough that 2 native threads split the passes (parallel.c: from 32K floats), with odd row counts. */
const parallelShapes = [[5, 33, 33, 7], [3, 41, 37, 5]];

for (const threads of [1, 2]) {
test(`a training batch norm layer (output, all three gradients, moving statistics) matches the cpu backend, ${threads} native thread(s)`, { skip }, async (t) => {
  registerWasmTrainingKernels();
  setNativeThreads(threads);
  t.after(() => setNativeThreads(1));
  for (const shape of threads === 1 ? shapes : parallelShapes) {
    await t.test(shape.join('x'), async () => {
      const c = shape[shape.length - 1];
      const x = randomValues(shape, 1);
      x.values.forEach((v, i) => { x.values[i] = 3 * v + (i % c); }); // a mean and a spread per channel
      const dy = randomValues(shape, 2);
      const gamma = randomValues([c], 3);
      const beta = randomValues([c], 4);
      const { wasm, cpu } = await onBothBackends([x, dy, gamma, beta], (xt, dyt, gt, bt) => {
        const layer = tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5, gammaInitializer: 'ones' });
        layer.build(xt.shape);
        layer.setWeights([gt, bt, ...layer.getWeights().slice(2)]);
        const [gw, bw] = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(xt, { training: true }) as tf.Tensor, dyt)), [gw, bw]);
        const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(layer.apply(a, { training: true }) as tf.Tensor, dyt)))(xt);
        const y = layer.apply(xt, { training: true }) as tf.Tensor;
        // (the layer's variables outlive this tidy: onBothBackends reads the moving statistics after it)
        return [y, dx, grads[gw.name], grads[bw.name], value, ...layer.getWeights().slice(2)];
      });
      ['y', 'dx', 'dgamma', 'dbeta', 'loss', 'moving mean', 'moving variance'].forEach((what, i) =>
        assert.ok(relError(wasm[i], cpu[i]) < 1e-4, `${what} rel err ${relError(wasm[i], cpu[i])}`));
    });
  }
});
}

test('on 2 native threads, inference batch norm and ReLU\'s gradient match the cpu backend', { skip }, async (t) => {
  registerWasmTrainingKernels();
  setNativeThreads(2);
  t.after(() => setNativeThreads(1));
  const x = randomValues([5, 33, 33, 7], 15);
  const dy = randomValues([5, 33, 33, 7], 16);
  const mean = randomValues([7], 17);
  const variance = randomValues([7], 18);
  variance.values.forEach((v, i) => { variance.values[i] = Math.abs(v) + 0.1; });
  const { wasm, cpu } = await onBothBackends([x, dy, mean, variance], (xt, dyt, m, v) => [
    tf.batchNorm(xt, m, v, undefined, undefined, 1e-3),
    tf.grad((a: tf.Tensor) => tf.relu(a))(xt, dyt),
  ]);
  wasm.forEach((w, i) => assert.ok(relError(w, cpu[i]) < 1e-5, `case ${i}: rel err ${relError(w, cpu[i])}`));
});

test('inference batch norm (FusedBatchNorm) matches the cpu backend, with and without scale and offset', { skip }, async () => {
  registerWasmTrainingKernels();
  const x = randomValues([2, 3, 4, 5], 5);
  const mean = randomValues([5], 6);
  const variance = randomValues([5], 7);
  variance.values.forEach((v, i) => { variance.values[i] = Math.abs(v) + 0.1; });
  const scale = randomValues([5], 8);
  const offset = randomValues([5], 9);
  const { wasm, cpu } = await onBothBackends([x, mean, variance, scale, offset], (xt, m, v, s, o) => [
    tf.batchNorm(xt, m, v, o, s, 1e-3),
    tf.batchNorm(xt, m, v, undefined, undefined, 1e-5),
  ]);
  wasm.forEach((w, i) => assert.ok(relError(w, cpu[i]) < 1e-5, `case ${i}: rel err ${relError(w, cpu[i])}`));
});

test('the batch norm kernels free every intermediate, and the layer runs its own code again once unregistered', { skip }, () => {
  registerWasmTrainingKernels();
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const layer = tf.layers.batchNormalization({});
  const x = tf.randomNormal([4, 3, 3, 6]);
  const run = () => tf.tidy(() => {
    tf.grad((a: tf.Tensor) => tf.sum(layer.apply(a, { training: true }) as tf.Tensor))(x).dataSync();
    (layer.apply(x) as tf.Tensor).dataSync();
  });
  run();
  const tensors = tf.memory().numTensors;
  const buffers = backend.numDataIds();
  run();
  run();
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(backend.numDataIds(), buffers);
  registerWasmTrainingKernels({ batchNorm: false });
  assert.equal(tf.getKernel('SelftrainBatchNormTrain', 'wasm'), undefined);
  run(); // the layer's own moments + FusedBatchNorm
  registerWasmTrainingKernels();
  layer.dispose();
  x.dispose();
});

/** ResNet-10 w32 (the bench's net) at 16 x 16, so that 20 steps on both kernel sets stay a few seconds. */
function resnet10(): tf.LayersModel {
  let seed = 1;
  const conv = (x: tf.SymbolicTensor, filters: number, k: number, strides: number) => tf.layers.conv2d({
    filters, kernelSize: k, strides, padding: 'same', useBias: false, kernelInitializer: tf.initializers.heNormal({ seed: seed++ }),
  }).apply(x) as tf.SymbolicTensor;
  const bn = (x: tf.SymbolicTensor) => tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 }).apply(x) as tf.SymbolicTensor;
  const relu = (x: tf.SymbolicTensor) => tf.layers.reLU().apply(x) as tf.SymbolicTensor;
  const input = tf.input({ shape: [16, 16, 3] });
  let x = relu(bn(conv(input, 32, 3, 1)));
  let channels = 32;
  for (const [filters, stride] of [[32, 1], [64, 2], [128, 2], [256, 2]]) {
    const r = bn(conv(relu(bn(conv(x, filters, 3, stride))), filters, 3, 1));
    const shortcut = stride !== 1 || filters !== channels ? bn(conv(x, filters, 1, stride)) : x;
    x = relu(tf.layers.add().apply([shortcut, r]) as tf.SymbolicTensor);
    channels = filters;
  }
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed }) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits });
}

test('20 training steps of ResNet-10 give the losses of the kernels before oneDNN and native batch norm (1e-3), on 1 and 2 native threads', { skip }, async () => {
  await tf.setBackend('wasm');
  const losses = (opts: { dnnl?: boolean; batchNorm?: boolean }) => {
    registerWasmTrainingKernels(opts);
    const model = resnet10();
    const optimizer = tf.train.momentum(0.01, 0.9);
    const x = tf.randomUniform([8, 16, 16, 3], 0, 1, 'float32', 7);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32'), 10);
    const out: number[] = [];
    for (let i = 0; i < 20; i++) {
      out.push(tf.tidy(() => optimizer.minimize(
        () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor).mean() as tf.Scalar, true,
      )!.dataSync()[0]));
    }
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
    return out;
  };
  const before = losses({ dnnl: false, batchNorm: false });
  const now = losses({});
  setNativeThreads(2); // oneDNN's team and the batch norm passes split (8x16x16x32: above their threshold)
  let twoThreads: number[];
  try {
    twoThreads = losses({});
  } finally {
    setNativeThreads(1);
  }
  assert.ok(before[19] < before[0] / 2, `the net learns: ${before[0]} -> ${before[19]}`);
  now.forEach((l, i) => assert.ok(Math.abs(l - before[i]) < 1e-3, `step ${i}: ${l} vs ${before[i]}`));
  twoThreads.forEach((l, i) => assert.ok(Math.abs(l - before[i]) < 1e-3, `2 native threads, step ${i}: ${l} vs ${before[i]}`));
});
