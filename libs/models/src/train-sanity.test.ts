import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend } from '@selftrain/compute';
import { buildModel, forwardTrain, MODEL_NAMES } from './index';

before(async () => {
  delete process.env.SELFTRAIN_BACKEND;
  assert.equal((await initBackend({ purpose: 'train' })).name, 'wasm');
});

/** Two classes told apart by which half of the image is bright: separable, learnable in a few steps. */
function syntheticBatch(n: number, size: number, seed: number): { x: tf.Tensor4D; y: tf.Tensor2D } {
  return tf.tidy(() => {
    const labels = tf.randomUniform([n], 0, 2, 'int32', seed) as tf.Tensor1D;
    const noise = tf.randomNormal([n, size, size, 1], 0, 0.3, 'float32', seed + 1);
    const left = tf.concat([tf.ones([size, size / 2, 1]), tf.zeros([size, size / 2, 1])], 1);
    const right = tf.sub(1, left);
    const lab = labels.reshape([n, 1, 1, 1]).toFloat();
    const x = noise.add(left.mul(tf.sub(1, lab)).add(right.mul(lab))) as tf.Tensor4D;
    return { x, y: tf.oneHot(labels, 2).toFloat() as tf.Tensor2D };
  });
}

for (const name of MODEL_NAMES) {
  test(`${name}: a few dozen SGD-momentum steps on wasm reduce the loss (the training path the project uses)`, () => {
    // resnet18 at an eighth of its width: the same layers, test-sized.
    const width = name === 'resnet18' ? 0.125 : undefined;
    const model = buildModel({ name, inputShape: [16, 16, 1], numClasses: 2, seed: 1, dropout: 0.1, width, stochasticDepth: name !== 'cnn-small' ? 0.1 : undefined });
    const velocity = model.trainableWeights.map((w) => tf.variable(tf.zerosLike(w.read()), false));
    const { x, y } = syntheticBatch(32, 16, 5);
    const lossOf = () => tf.tidy(() => tf.losses.softmaxCrossEntropy(y, model.predict(x) as tf.Tensor).dataSync()[0]);
    const start = lossOf();
    const tensorsBefore = tf.memory().numTensors;
    for (let step = 0; step < 30; step++) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(
          () => tf.losses.softmaxCrossEntropy(y, forwardTrain(model, x)).mean() as tf.Scalar,
        );
        model.trainableWeights.forEach((w, i) => {
          const variable = (w as unknown as { val: tf.Variable }).val;
          velocity[i].assign(velocity[i].mul(0.9).add(grads[variable.name]));
          variable.assign(variable.sub(velocity[i].mul(0.02)));
        });
      });
    }
    assert.equal(tf.memory().numTensors, tensorsBefore, 'training steps leak no tensors');
    const end = lossOf();
    assert.ok(end < start * 0.5, `loss ${start.toFixed(3)} -> ${end.toFixed(3)}`);
    tf.dispose([x, y, ...velocity]);
    model.dispose();
  });
}
