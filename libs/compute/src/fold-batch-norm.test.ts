import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend, registerWasmTrainingKernels, setNativeThreads, foldBatchNorm } from './index';
import { kernelModes, randomValues, relError } from './test-support/compare';

before(async () => {
  delete process.env.SELFTRAIN_BACKEND;
  await initBackend();
});

/**
 * A residual block's kinds of conv + batch norm, on odd channel counts: conv + BN + ReLU (a ReLU layer and
 * an Activation), conv with a bias + BN (stride 2), a 1x1 stride-2 valid shortcut conv + BN, their sum and
 * ReLU; and what must stay as it is: a (valid) conv feeding two layers, a batch norm after a pooling layer.
 */
function buildNet(seed: number): tf.LayersModel {
  let s = seed;
  const init = () => tf.initializers.heNormal({ seed: s++ });
  const conv = (x: tf.SymbolicTensor, filters: number, kernelSize: number, strides: number, padding: 'same' | 'valid', useBias = false) =>
    tf.layers.conv2d({ filters, kernelSize, strides, padding, useBias, kernelInitializer: init(), biasInitializer: tf.initializers.randomNormal({ seed: s++ }) }).apply(x) as tf.SymbolicTensor;
  const bn = (x: tf.SymbolicTensor) => tf.layers.batchNormalization({ epsilon: 1e-3 }).apply(x) as tf.SymbolicTensor;
  const input = tf.input({ shape: [9, 9, 3] });
  const a = tf.layers.reLU().apply(bn(conv(input, 5, 3, 1, 'same'))) as tf.SymbolicTensor;
  const b = tf.layers.activation({ activation: 'relu' }).apply(bn(conv(a, 7, 3, 1, 'same'))) as tf.SymbolicTensor;
  const r = bn(conv(b, 7, 3, 2, 'same', true));
  const shortcut = bn(conv(b, 7, 1, 2, 'valid'));
  let x = tf.layers.reLU().apply(tf.layers.add().apply([shortcut, r])) as tf.SymbolicTensor;
  const shared = conv(x, 5, 3, 1, 'valid');
  x = tf.layers.concatenate().apply([bn(shared), shared]) as tf.SymbolicTensor;
  x = bn(tf.layers.averagePooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor);
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: 4, kernelInitializer: init() }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits });
}

/** Moving statistics and scales away from their initial 0 / 1, as a trained model has them. */
function trainedStatistics(model: tf.LayersModel): void {
  let seed = 100;
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const [gamma, beta, mean, variance] = layer.getWeights().map((w) => randomValues(w.shape, seed++));
    variance.values.forEach((v, i) => { variance.values[i] = Math.abs(v) * 2 + 0.05; });
    gamma.values.forEach((v, i) => { gamma.values[i] = v * 2; });
    layer.setWeights([gamma, beta, mean, variance].map((w) => tf.tensor(w.values, w.shape)));
  }
}

const classes = (m: tf.LayersModel) => m.layers.map((l) => l.getClassName());

test('foldBatchNorm folds conv + batch norm (+ ReLU) into one conv with a bias and keeps the rest', async () => {
  registerWasmTrainingKernels();
  const model = buildNet(1);
  // A checkpoint's recorded input (libs/checkpoints) travels with the folded model: the labeler checks it.
  model.setUserDefinedMetadata({ input: { height: 8, width: 8, channels: 3, mean: [0.5, 0.4, 0.3], std: [0.2, 0.2, 0.2] } });
  const { model: fused, folded } = await foldBatchNorm(model);
  try {
    assert.equal(folded, 4);
    assert.deepEqual(fused.getUserDefinedMetadata(), model.getUserDefinedMetadata());
    assert.equal(classes(fused).filter((c) => c === 'BatchNormalization').length, 2, 'the shared conv\'s and the pooled batch norms stay');
    assert.equal(classes(fused).filter((c) => c === 'ReLU' || c === 'Activation').length, 1, 'only the ReLU after the sum stays');
    const convs = fused.layers.filter((l) => l.getClassName() === 'Conv2D').map((l) => l.getConfig() as { useBias: boolean; activation: string });
    assert.deepEqual(convs.map((c) => [c.useBias, c.activation]), [[true, 'relu'], [true, 'relu'], [true, 'linear'], [true, 'linear'], [false, 'linear']]);
    assert.deepEqual(fused.outputNames, model.outputNames);
  } finally {
    fused.dispose();
    model.dispose();
  }
});

test('a model without a foldable batch norm comes back as it is', async () => {
  const input = tf.input({ shape: [4, 4, 2] });
  const model = tf.model({ inputs: input, outputs: tf.layers.conv2d({ filters: 3, kernelSize: 3, activation: 'relu' }).apply(input) as tf.SymbolicTensor });
  const r = await foldBatchNorm(model);
  assert.equal(r.model, model);
  assert.equal(r.folded, 0);
  model.dispose();
});

for (const mode of kernelModes()) {
  test(`the folded model's predictions on ${mode.name} kernels match the unfused model's on the cpu backend (1e-4 relative), batch 1 and 6`, async (t) => {
    registerWasmTrainingKernels(mode.options);
    setNativeThreads(mode.threads ?? 1);
    t.after(() => { setNativeThreads(1); registerWasmTrainingKernels(); });
    await tf.setBackend('wasm');
    const model = buildNet(2);
    trainedStatistics(model);
    const { model: fused } = await foldBatchNorm(model);
    try {
      for (const batch of [1, 6]) {
        const x = randomValues([batch, 9, 9, 3], 7 + batch);
        x.values.forEach((v, i) => { x.values[i] = v * 4; });
        const predict = (m: tf.LayersModel) => tf.tidy(() => (m.predict(tf.tensor(x.values, x.shape)) as tf.Tensor).dataSync() as Float32Array);
        const folded = predict(fused);
        const unfusedWasm = predict(model);
        await tf.setBackend('cpu');
        const reference = predict(model);
        await tf.setBackend('wasm');
        assert.ok(relError(folded, reference) < 1e-4, `batch ${batch}: folded on ${mode.name} vs unfused on cpu, rel err ${relError(folded, reference)}`);
        assert.ok(relError(folded, unfusedWasm) < 1e-4, `batch ${batch}: folded vs unfused on ${mode.name}, rel err ${relError(folded, unfusedWasm)}`);
      }
    } finally {
      await tf.setBackend('wasm');
      fused.dispose();
      model.dispose();
    }
  });
}
