import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend } from '@selftrain/compute';
import { buildSegmenter, predictSegmentation, predictSegmentationMultiScale } from './index';

before(async () => {
  delete process.env.SELFTRAIN_BACKEND;
  assert.equal((await initBackend()).name, 'wasm');
});

test('segmenter: logits at the input size for the nominal size and any other (fully convolutional)', () => {
  const model = buildSegmenter({ inputShape: [96, 96, 1], numClasses: 11, seed: 1 });
  tf.tidy(() => {
    for (const [h, w] of [[96, 96], [128, 128], [80, 100], [37, 45]]) {
      const out = model.predict(tf.randomNormal([2, h, w, 1], 0, 1, 'float32', 1)) as tf.Tensor;
      assert.deepEqual(out.shape, [2, h, w, 11]);
    }
  });
  model.dispose();
});

test('predictSegmentation and multi-scale inference give per-pixel probabilities at the image size', () => {
  const model = buildSegmenter({ inputShape: [64, 64, 1], numClasses: 3, seed: 2 });
  const images = tf.randomUniform([2, 64, 64, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
  const before = tf.memory().numTensors;
  const single = predictSegmentation(model, images);
  const multi = predictSegmentationMultiScale(model, images);
  const only1 = predictSegmentationMultiScale(model, images, [1]);
  assert.equal(tf.memory().numTensors, before + 3, 'only the results are left');
  for (const p of [single, multi]) {
    assert.deepEqual(p.shape, [2, 64, 64, 3]);
    const sums = tf.sum(p, -1).dataSync();
    assert.ok(sums.every((s) => Math.abs(s - 1) < 1e-4));
  }
  // One scale of 1 is plain prediction; several scales differ from it.
  const d1 = tf.max(tf.abs(tf.sub(only1, single))).dataSync()[0];
  const dm = tf.max(tf.abs(tf.sub(multi, single))).dataSync()[0];
  assert.ok(d1 < 1e-6, `${d1}`);
  assert.ok(dm > 1e-4, `${dm}`);
  assert.throws(() => predictSegmentationMultiScale(model, images, [0]), /scales/);
  tf.dispose([single, multi, only1, images]);
  model.dispose();
});

test('segmenter saves and loads (the custom resize layer is registered)', async () => {
  const model = buildSegmenter({ inputShape: [32, 32, 1], numClasses: 2, seed: 4 });
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => { artifacts = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts as tf.io.ModelArtifacts));
  const x = tf.randomNormal([1, 32, 32, 1], 0, 1, 'float32', 5);
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor))).dataSync()[0]);
  assert.ok(diff < 1e-5, `${diff}`);
  tf.dispose(x);
  model.dispose();
  loaded.dispose();
});
