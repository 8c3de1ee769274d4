import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend } from '@selftrain/compute';
import { buildRetinaNet, retinaNetAnchors, retinaNetMaxLevel } from './index';

before(async () => {
  delete process.env.SELFTRAIN_BACKEND;
  assert.equal((await initBackend()).name, 'wasm');
});

for (const maxLevel of [5, 7]) {
  test(`retinanet P3-P${maxLevel}: outputs [B, N, K] logits and [B, N, 4] deltas, N = the anchor count`, () => {
    const spec = { inputShape: [96, 96, 1] as [number, number, number], numClasses: 10, maxLevel, seed: 3 };
    const model = buildRetinaNet(spec);
    const anchors = retinaNetAnchors(spec);
    assert.equal(anchors.count, maxLevel === 5 ? 1701 : 1701 + 45);
    tf.tidy(() => {
      const [logits, deltas] = model.predict(tf.randomNormal([2, 96, 96, 1], 0, 1, 'float32', 2)) as tf.Tensor[];
      assert.deepEqual(logits.shape, [2, anchors.count, 10]);
      assert.deepEqual(deltas.shape, [2, anchors.count, 4]);
      // Prior-probability init: every class output starts near pi = 0.01.
      const p = tf.sigmoid(logits).dataSync() as Float32Array;
      const mean = p.reduce((s, v) => s + v, 0) / p.length;
      assert.ok(Math.abs(mean - 0.01) < 0.003, `mean initial probability ${mean}`);
    });
    model.dispose();
  });
}

test('retinanet: heads are shared across levels (one set of weights), same seed -> same weights', () => {
  const spec = { inputShape: [64, 64, 1] as [number, number, number], numClasses: 3, seed: 9, headConvs: 1 };
  const a = buildRetinaNet(spec);
  const b = buildRetinaNet(spec);
  const headWeights = a.weights.filter((w) => /subnet/.test(w.name));
  assert.equal(headWeights.length, 2 * 2 * 2, 'class and box subnet: 1 hidden + 1 output conv, kernel + bias each');
  a.weights.forEach((w, i) => assert.deepEqual(w.read().dataSync(), b.weights[i].read().dataSync()));
  a.dispose();
  b.dispose();
});

test('retinanet: spec errors name the field', () => {
  assert.throws(() => buildRetinaNet({ inputShape: [96, 96, 1], numClasses: 10, maxLevel: 8 }), /maxLevel/);
  assert.throws(() => buildRetinaNet({ inputShape: [16, 16, 1], numClasses: 10 }), /too small/);
  assert.throws(() => buildRetinaNet({ inputShape: [96, 96, 1], numClasses: 0 }), /numClasses/);
  assert.throws(() => buildRetinaNet({ inputShape: [96, 96, 1], numClasses: 2, priorProbability: 1 }), /priorProbability/);
});

test('retinanet saves and loads with its shared heads (same outputs after the round trip)', async () => {
  const model = buildRetinaNet({ inputShape: [64, 64, 1], numClasses: 2, seed: 5, maxLevel: 6 });
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => { artifacts = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts as tf.io.ModelArtifacts));
  assert.equal(loaded.countParams(), model.countParams());
  const x = tf.randomNormal([1, 64, 64, 1], 0, 1, 'float32', 6);
  const diffs = tf.tidy(() => {
    const a = model.predict(x) as tf.Tensor[];
    const b = loaded.predict(x) as tf.Tensor[];
    return a.map((t, i) => tf.max(tf.abs(tf.sub(t, b[i]))).dataSync()[0]);
  });
  assert.ok(diffs.every((d) => d < 1e-5), `${diffs}`);
  tf.dispose(x);
  model.dispose();
  loaded.dispose();
});

test('the top pyramid level follows the input size: P5 up to ~128 px, then one more level per doubling, at most P7', () => {
  // Anchor side 2 x stride (the detector's): the largest P5 anchor is ~102 px.
  assert.deepEqual([28, 64, 96, 128, 200, 256, 384, 512, 1024].map((s) => retinaNetMaxLevel(s, s, 2)), [5, 5, 5, 5, 6, 6, 7, 7, 7]);
  assert.equal(retinaNetMaxLevel(128, 512, 2), 7, 'the longer side decides');
  // RetinaNet's own 4 x stride: P5 anchors reach 203 px.
  assert.deepEqual([96, 256, 384, 512].map((s) => retinaNetMaxLevel(s, s)), [5, 5, 6, 6]);
  const spec = { inputShape: [256, 256, 3] as [number, number, number], numClasses: 2, anchorSizeFactor: 2, fpnChannels: 8, headConvs: 0 };
  assert.deepEqual(retinaNetAnchors(spec).levels.map((l) => l.level), [3, 4, 5, 6]);
  assert.equal((buildRetinaNet(spec).outputs[0].shape as number[])[1], retinaNetAnchors(spec).count);
});
