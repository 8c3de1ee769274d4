import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend } from '@selftrain/compute';
import { buildModel, countFlops, countParams, forwardTrain, MODEL_NAMES, ModelSpec } from './index';

before(async () => {
  delete process.env.SELFTRAIN_BACKEND;
  assert.equal((await initBackend()).name, 'wasm');
});

// resnet18 runs here at an eighth of its width (8 channels in the first stage): the same code, test-sized.
const spec = (name: ModelSpec['name'], extra: Partial<ModelSpec> = {}): ModelSpec =>
  ({ name, inputShape: [28, 28, 1], numClasses: 10, seed: 7, ...(name === 'resnet18' ? { width: 0.125 } : {}), ...extra });
const residual = (name: ModelSpec['name']) => name !== 'cnn-small';

test('MODEL_NAMES lists the zoo, default first', () => {
  assert.deepEqual([...MODEL_NAMES], ['cnn-small', 'resnet-small', 'resnet18']);
});

for (const name of MODEL_NAMES) {
  test(`${name}: output shape [batch, numClasses] and raw logits (not softmaxed)`, () => {
    const model = buildModel(spec(name, { numClasses: 7, inputShape: [20, 24, 3] }));
    tf.tidy(() => {
      const out = model.predict(tf.randomNormal([5, 20, 24, 3], 0, 1, 'float32', 1)) as tf.Tensor;
      assert.deepEqual(out.shape, [5, 7]);
      const v = Array.from(out.dataSync() as Float32Array);
      const rowSums = Array.from({ length: 5 }, (_, r) => v.slice(r * 7, r * 7 + 7).reduce((p, q) => p + q, 0));
      assert.ok(v.some((x) => x < 0), 'logits can be negative');
      assert.ok(rowSums.some((s) => Math.abs(s - 1) > 1e-3), 'rows do not sum to 1');
    });
    model.dispose();
  });

  test(`${name}: same seed gives the same initial weights, another seed different ones`, () => {
    const weights = (seed: number) => {
      const m = buildModel(spec(name, { seed }));
      const w = m.getWeights().map((t) => Array.from(t.dataSync()));
      m.dispose();
      return w;
    };
    const a = weights(3);
    assert.deepEqual(weights(3), a);
    assert.notDeepEqual(weights(4), a);
  });

  test(`${name}: save / load round trip keeps predictions`, async () => {
    const model = buildModel(spec(name, { stochasticDepth: residual(name) ? 0.3 : undefined }));
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    assert.ok(artifacts != null);
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    const x = tf.randomNormal([4, 28, 28, 1], 0, 1, 'float32', 2);
    const before = (model.predict(x) as tf.Tensor).dataSync();
    const after = (loaded.predict(x) as tf.Tensor).dataSync();
    assert.deepEqual(Array.from(after), Array.from(before));
    tf.dispose(x);
    model.dispose();
    loaded.dispose();
  });

  test(`${name}: dropout / stochastic depth only in training`, () => {
    const model = buildModel(spec(name, { dropout: 0.5, stochasticDepth: residual(name) ? 0.5 : undefined }));
    tf.tidy(() => {
      const x = tf.randomNormal([8, 28, 28, 1], 0, 1, 'float32', 3);
      const p1 = (model.predict(x) as tf.Tensor).dataSync();
      const p2 = (model.predict(x) as tf.Tensor).dataSync();
      const inf = (model.apply(x, { training: false }) as tf.Tensor).dataSync();
      assert.deepEqual(Array.from(p2), Array.from(p1), 'inference is deterministic');
      assert.deepEqual(Array.from(inf), Array.from(p1), 'apply(training:false) is inference');
      const t1 = forwardTrain(model, x).dataSync();
      const t2 = forwardTrain(model, x).dataSync();
      assert.notDeepEqual(Array.from(t1), Array.from(t2), 'training draws new masks each call');
    });
    model.dispose();
  });
}

test('cnn-small documents its size: 15.7 MFLOP, 468k parameters on 28x28x1', () => {
  const model = buildModel(spec('cnn-small'));
  assert.equal(countFlops(model), 15_707_648);
  assert.equal(countParams(model), 467_818);
  model.dispose();
});

test('width scales the channels', () => {
  const narrow = buildModel(spec('resnet-small', { width: 0.5 }));
  const wide = buildModel(spec('resnet-small', { width: 1 }));
  assert.ok(countParams(narrow) < countParams(wide) / 3);
  narrow.dispose();
  wide.dispose();
});

test('bad specs are rejected with a clear error', () => {
  assert.throws(() => buildModel(spec('nope' as ModelSpec['name'])), /unknown model "nope"/);
  assert.throws(() => buildModel(spec('cnn-small', { numClasses: 1 })), /numClasses/);
  assert.throws(() => buildModel(spec('cnn-small', { dropout: 1 })), /dropout/);
  assert.throws(() => buildModel(spec('cnn-small', { stochasticDepth: 0.2 })), /resnet-small/);
  assert.throws(() => buildModel(spec('cnn-small', { inputShape: [28, 28, 0] })), /channels/);
});
