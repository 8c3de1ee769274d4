import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend, nativeCpuKernels, registerWasmTrainingKernels } from '@selftrain/compute';
import { buildModel, buildRetinaNet, buildSegmenter, countFlops, countParams, defaultClassifierFor, retinaNetAnchors, type ModelSpec } from './index';

before(async () => {
  delete process.env.SELFTRAIN_BACKEND;
  assert.equal((await initBackend({ purpose: 'train' })).name, 'wasm');
});
after(() => registerWasmTrainingKernels());

const outputShapeOf = (m: tf.LayersModel, layer: string) => m.getLayer(layer).outputShape as number[];

test('resnet18 at width 1 on 224x224 RGB is ResNet-18: 11,689,512 parameters (+ 9,600 batch-norm statistics), 7x7 stem and max pool', () => {
  const m = buildModel({ name: 'resnet18', inputShape: [224, 224, 3], numClasses: 1000, seed: 1 });
  // torchvision's resnet18 has 11,689,512 parameters; Keras also counts the moving mean and variance of its 4,800 BN channels.
  assert.equal(countParams(m), 11_689_512 + 2 * 4_800);
  assert.deepEqual(outputShapeOf(m, 'stem_pool'), [null, 56, 56, 64]);
  assert.deepEqual(outputShapeOf(m, 's4b2_relu2'), [null, 7, 7, 512]);
  // 1.8 G multiply-adds, the figure the ResNet paper gives for ResNet-18.
  assert.ok(Math.abs(countFlops(m) / 2 / 1e9 - 1.8) < 0.05, `${countFlops(m) / 2e9} G multiply-adds`);
  m.dispose();
});

test('resnet18 stem fits the input: 3x3 stride 1 without pooling up to 64 px, so 32 px CIFAR images keep a 32x32 first stage', () => {
  const small = buildModel({ name: 'resnet18', inputShape: [32, 32, 3], numClasses: 10, width: 0.25, seed: 1 });
  assert.ok(!small.layers.some((l) => l.name === 'stem_pool'));
  assert.deepEqual(small.getLayer('stem_conv').getWeights()[0].shape, [3, 3, 3, 16]);
  assert.deepEqual(outputShapeOf(small, 's1b2_relu2'), [null, 32, 32, 16]);
  assert.deepEqual(outputShapeOf(small, 's4b2_relu2'), [null, 4, 4, 128]);
  const grey = buildModel({ name: 'resnet18', inputShape: [96, 96, 1], numClasses: 10, width: 0.25, blocks: [1, 1, 2, 1], seed: 1 });
  assert.deepEqual(grey.getLayer('stem_conv').getWeights()[0].shape, [7, 7, 1, 16]);
  assert.deepEqual(outputShapeOf(grey, 's1b1_relu2'), [null, 24, 24, 16]);
  assert.ok(grey.layers.some((l) => l.name === 's3b2_join') && !grey.layers.some((l) => l.name === 's4b2_join'), 'blocks per stage follow spec.blocks');
  small.dispose();
  grey.dispose();
  assert.throws(() => buildModel({ name: 'resnet18', inputShape: [32, 32, 3], numClasses: 10, blocks: [2, 2, 2] }), /four integers/);
  assert.throws(() => buildModel({ name: 'resnet-small', inputShape: [32, 32, 3], numClasses: 10, blocks: [2, 2, 2, 2] }), /resnet18 option/);
});

/** Logits (inference) and the gradient of the training loss for every weight, on one backend, from given weights. */
async function forwardAndGradients(backend: string, spec: ModelSpec, weights: Float32Array[] | undefined, x: Float32Array, labels: number[]) {
  await tf.setBackend(backend);
  const model = buildModel(spec);
  if (weights) model.setWeights(model.getWeights().map((w, i) => tf.tensor(weights[i], w.shape)));
  // Before any training-mode call, which moves batch norm's running statistics.
  const initial = model.getWeights().map((t) => t.dataSync().slice() as Float32Array);
  const [, h, w, c] = [0, ...spec.inputShape];
  const out = tf.tidy(() => {
    const input = tf.tensor4d(x, [labels.length, h, w, c]);
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), spec.numClasses).toFloat();
    const logits = (model.predict(input) as tf.Tensor).dataSync() as Float32Array;
    // Training mode: batch norm on batch statistics, the path whose backward kernels training runs.
    const { grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(input, { training: true }) as tf.Tensor).mean() as tf.Scalar);
    const byName = model.trainableWeights.map((tw) => grads[(tw as unknown as { val: tf.Variable }).val.name].dataSync() as Float32Array);
    return { logits, grads: byName };
  });
  model.dispose();
  return { ...out, initial };
}

function relError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / (scale || 1);
}

const modes = nativeCpuKernels().loaded ? [false, true] : [false];
for (const native of modes) {
  for (const side of [16, 72]) {
    test(`resnet18 ${side}x${side}x3 (${side > 64 ? '7x7 stem, max pool' : '3x3 stem'}): logits and every weight gradient on ${native ? 'the native' : 'the wasm'} kernels match the cpu backend`, async () => {
      registerWasmTrainingKernels({ native });
      const spec: ModelSpec = { name: 'resnet18', inputShape: [side, side, 3], numClasses: 5, width: 0.0625, blocks: [1, 1, 1, 1], dropout: 0, seed: 11 };
      const n = 4;
      const x = new Float32Array(n * side * side * 3);
      for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 12.9898) * 0.9;
      const labels = [0, 3, 1, 4];
      const wasm = await forwardAndGradients('wasm', spec, undefined, x, labels);
      const cpu = await forwardAndGradients('cpu', spec, wasm.initial, x, labels);
      await tf.setBackend('wasm');
      assert.ok(relError(wasm.logits, cpu.logits) < 1e-4, `logits rel error ${relError(wasm.logits, cpu.logits)}`);
      assert.equal(wasm.grads.length, cpu.grads.length);
      wasm.grads.forEach((g, i) => assert.ok(relError(g, cpu.grads[i]) < 1e-3, `gradient ${i}: rel error ${relError(g, cpu.grads[i])}`));
    });
  }
}

test('the detector and the segmenter take 3-channel 128x128 images', () => {
  const spec = { inputShape: [128, 128, 3] as [number, number, number], numClasses: 4, width: 0.5, seed: 2 };
  const det = buildRetinaNet(spec);
  const seg = buildSegmenter(spec);
  tf.tidy(() => {
    const x = tf.randomUniform([2, 128, 128, 3], 0, 1, 'float32', 5);
    const [logits, deltas] = det.predict(x) as tf.Tensor[];
    assert.deepEqual(logits.shape, [2, retinaNetAnchors(spec).count, 4]);
    assert.deepEqual(deltas.shape, [2, retinaNetAnchors(spec).count, 4]);
    assert.deepEqual((seg.predict(x) as tf.Tensor).shape, [2, 128, 128, 4]);
    // One training step's gradients reach the first conv, which reads the three channels.
    const { grads } = tf.variableGrads(() => tf.add((seg.apply(x, { training: true }) as tf.Tensor).square().mean(), tf.add((det.apply(x, { training: true }) as tf.Tensor[])[0].mean(), 0)) as tf.Scalar);
    const firstConvs = [det, seg].map((m) => m.layers.find((l) => l.getClassName() === 'Conv2D')!);
    for (const conv of firstConvs) {
      const kernel = conv.getWeights()[0];
      assert.equal(kernel.shape[2], 3);
      const g = grads[(conv.trainableWeights[0] as unknown as { val: tf.Variable }).val.name];
      assert.ok(g && (g.abs().max().dataSync()[0] as number) > 0, `${conv.name} gets a gradient`);
    }
  });
  det.dispose();
  seg.dispose();
});

test('defaultClassifierFor: cnn-small for 28x28 grey, resnet18 for every other input', () => {
  assert.equal(defaultClassifierFor([28, 28, 1]), 'cnn-small');
  assert.equal(defaultClassifierFor([32, 32, 3]), 'resnet18');
  assert.equal(defaultClassifierFor([28, 28, 3]), 'resnet18');
  assert.equal(defaultClassifierFor([224, 224, 1]), 'resnet18');
});
