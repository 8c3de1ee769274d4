import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '@selftrain/compute';
import { buildModel } from '@selftrain/models';
import { matchActivationScale } from './match-activation-scale';

before(async () => {
  await initBackend({ purpose: 'train' });
});

test('each layer is brought to a fresh model\'s activation scale; the features keep their direction', () => {
  const spec = { name: 'cnn-small' as const, inputShape: [28, 28, 1] as [number, number, number], numClasses: 10, width: 0.25 };
  const model = buildModel({ ...spec, seed: 1 });
  const reference = buildModel({ ...spec, seed: 2 });
  // Grown weights, as after SimCLR pretraining: every layer 3x, so fc1 comes out 3^5 = 243x larger.
  for (const l of model.layers) if (l.getWeights().length === 2 && l.name !== 'logits') l.setWeights(l.getWeights().map((w) => tf.mul(w, 3)));
  const images = tf.randomUniform([32, 28, 28, 1], 0, 1, 'float32', 7) as tf.Tensor4D;
  const features = (m: tf.LayersModel) => tf.model({ inputs: m.inputs, outputs: m.getLayer('fc1').output as tf.SymbolicTensor }).predict(images) as tf.Tensor2D;
  const rms = (t: tf.Tensor) => Math.sqrt(tf.mean(tf.square(t)).dataSync()[0]);
  const before = features(model);
  const logitsBefore = model.getLayer('logits').getWeights()[0].dataSync().slice();
  matchActivationScale(model, reference, images);
  const after = features(model);
  assert.ok(Math.abs(rms(after) / rms(features(reference)) - 1) < 1e-3, `fc1 RMS ${rms(after)} vs the fresh model's ${rms(features(reference))}`);
  const cosine = tf.sum(tf.mul(before, after)).dataSync()[0] / (Math.sqrt(tf.sum(tf.square(before)).dataSync()[0]) * Math.sqrt(tf.sum(tf.square(after)).dataSync()[0]));
  assert.ok(cosine > 0.99999, `the features keep their direction (cosine ${cosine})`);
  assert.deepEqual(model.getLayer('logits').getWeights()[0].dataSync(), logitsBefore, 'the head is left alone');
});
