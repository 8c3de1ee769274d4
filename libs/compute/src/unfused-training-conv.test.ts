import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend, registerWasmTrainingKernels } from './index';
import { installUnfusedTrainingConv, uninstallUnfusedTrainingConv } from './unfused-training-conv';

before(async () => {
  delete process.env.SELFTRAIN_BACKEND;
  await initBackend();
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
});

/** A first conv without bias (as a ResNet's stem), batch norm and ReLU, a conv with a bias, a dense head. */
function smallNet(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3] });
  let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 5, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }), biasInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: 3 }) }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits });
}

interface Step {
  loss: number;
  grads: Record<string, Float32Array>;
  inputGradients: number;
  fusedConvs: number;
}

/** One training step's loss and gradients, and the conv kernels it ran. */
async function step(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): Promise<Step> {
  let loss = 0;
  const grads: Record<string, Float32Array> = {};
  const info = await tf.profile(() => {
    const r = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar);
    loss = r.value.dataSync()[0];
    for (const [name, g] of Object.entries(r.grads)) grads[name] = g.dataSync() as Float32Array;
    tf.dispose([r.value, Object.values(r.grads)]);
    return [];
  });
  const count = (name: string) => info.kernels.filter((k) => k.name === name).length;
  return { loss, grads, inputGradients: count('Conv2DBackpropInput'), fusedConvs: count('FusedConv2D') };
}

test('under a tape on wasm, convs run unfused: the first conv skips its input gradient, and the gradients are the same', async () => {
  const model = smallNet();
  const x = tf.randomUniform([6, 8, 8, 3], -1, 1, 'float32', 5);
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32'), 3);
  try {
    const ours = await step(model, x, y);
    uninstallUnfusedTrainingConv();
    let stock: Step;
    try {
      stock = await step(model, x, y);
    } finally {
      installUnfusedTrainingConv();
    }
    assert.equal(stock.inputGradients, 2, "TF.js's fused conv computes both convs' input gradients");
    assert.equal(ours.inputGradients, 1, 'only the second conv needs its input gradient');
    assert.equal(ours.fusedConvs, 0);
    assert.ok(Math.abs(ours.loss - stock.loss) <= 1e-6 * Math.abs(stock.loss), `loss ${ours.loss} against ${stock.loss}`);
    assert.deepEqual(Object.keys(ours.grads).sort(), Object.keys(stock.grads).sort());
    for (const [name, g] of Object.entries(stock.grads)) {
      const scale = Math.max(...g.map(Math.abs));
      const worst = Math.max(...g.map((v, i) => Math.abs(v - ours.grads[name][i])));
      assert.ok(worst <= 1e-5 * scale, `${name}: differs by ${worst} (largest ${scale})`);
    }
  } finally {
    tf.dispose([x, y]);
    model.dispose();
  }
});

test('outside a tape (predict) convs stay fused, with their bias and activation in one kernel', async () => {
  const model = smallNet();
  const x = tf.randomUniform([2, 8, 8, 3], -1, 1, 'float32', 6);
  try {
    const info = await tf.profile(() => model.predict(x) as tf.Tensor);
    tf.dispose(info.result as tf.Tensor);
    assert.equal(info.kernels.filter((k) => k.name === 'FusedConv2D').length, 2);
    assert.equal(info.kernels.filter((k) => k.name === 'Conv2D').length, 0);
  } finally {
    x.dispose();
    model.dispose();
  }
});
