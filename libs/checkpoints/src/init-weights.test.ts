import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '@selftrain/compute';
import { InputError, NotFoundError } from '@selftrain/errors';
import { buildModel } from '@selftrain/models';
import { MemoryObjectStore, saveModelToBucket } from '@selftrain/storage';
import { resolveTrainOptions, TEACHER_DEFAULTS } from '@selftrain/train';
import { checkInitCheckpoint, matchInitLayers } from './init-weights';
import { initialModel } from './model-checkpoints';

const shapes = (m: tf.LayersModel) => new Map(m.weights.map((w) => [w.originalName, w.shape as number[]] as const));
const SHAPE = { height: 28, width: 28, channels: 1 };
const options = (initCheckpoint: string, width = 0.5) => resolveTrainOptions({ initCheckpoint, width, seed: 2 } as never, TEACHER_DEFAULTS);

test('by name and shape: a 4-class checkpoint gives a 10-class model all but its head; another width or architecture matches nothing', async () => {
  await initBackend({ purpose: 'train' });
  const coarse = buildModel({ name: 'cnn-small', inputShape: [28, 28, 1], numClasses: 4, width: 0.5, seed: 1 });
  const fine = buildModel({ name: 'cnn-small', inputShape: [28, 28, 1], numClasses: 10, width: 0.5, seed: 2 });
  const { match, take } = matchInitLayers(fine, shapes(coarse));
  assert.deepEqual(match.matched, ['conv1', 'conv2', 'conv3', 'conv4', 'fc1']);
  assert.deepEqual(match.skipped, [{ layer: 'logits', weight: 'kernel', modelShape: [64, 10], initShape: [64, 4] }]);
  assert.deepEqual([match.unmatched, match.unused], [[], []]);
  assert.deepEqual(take.map((t) => t.names), ['conv1', 'conv2', 'conv3', 'conv4', 'fc1'].map((l) => [`${l}/kernel`, `${l}/bias`]));

  const wider = buildModel({ name: 'cnn-small', inputShape: [28, 28, 1], numClasses: 10, width: 1, seed: 3 });
  const byWidth = matchInitLayers(wider, shapes(coarse)).match;
  assert.deepEqual([byWidth.matched, byWidth.skipped.length], [[], 6]);
  const other = buildModel({ name: 'resnet-small', inputShape: [28, 28, 1], numClasses: 10, width: 0.5, seed: 4 });
  const byArch = matchInitLayers(other, shapes(coarse)).match;
  assert.deepEqual(byArch.matched, []);
  assert.ok(byArch.unmatched.includes('stem_conv') && byArch.unused.includes('conv1'), JSON.stringify(byArch));
  for (const m of [coarse, fine, wider, other]) m.dispose();
});

test('initialModel from a checkpoint in the bucket: the matched weights are the checkpoint\'s, the head stays fresh, and the report says so', async () => {
  await initBackend({ purpose: 'train' });
  const store = new MemoryObjectStore();
  const coarse = buildModel({ name: 'cnn-small', inputShape: [28, 28, 1], numClasses: 4, width: 0.5, seed: 1 });
  const saved = await saveModelToBucket(store, 'pre/coarse', coarse);
  const fresh = buildModel({ name: 'cnn-small', inputShape: [28, 28, 1], numClasses: 10, width: 0.5, seed: 2 });
  const before = tf.memory().numTensors;
  const { model, init } = await initialModel(store, options(saved.key), SHAPE, 10);
  assert.equal(tf.memory().numTensors - before, model.weights.length, 'nothing but the model\'s own weights stays allocated');
  for (const layer of model.layers) {
    const source = layer.name === 'logits' ? fresh : coarse;
    layer.getWeights().forEach((w, i) => assert.deepEqual(w.dataSync(), source.getLayer(layer.name).getWeights()[i].dataSync(), `${layer.name} weight ${i}`));
  }
  assert.equal(init?.checkpoint?.key, saved.key);
  assert.equal(init?.checkpoint?.sha256, saved.sha256);
  assert.match(init?.digest ?? '', /^[0-9a-f]{64}$/);
  assert.deepEqual([init?.matched.length, init?.skipped.map((s) => s.layer), init?.unmatched], [5, ['logits'], []]);

  // Checked before a job starts: what is missing or fits nothing names the field.
  await checkInitCheckpoint(store, options(saved.key), SHAPE, 10, 'classification');
  await assert.rejects(checkInitCheckpoint(store, options('pre/none/model.json'), SHAPE, 10, 'classification'),
    (e: unknown) => e instanceof NotFoundError && /options\.init_checkpoint pre\/none\/model\.json/.test(e.message));
  await assert.rejects(checkInitCheckpoint(store, options(saved.key, 1), SHAPE, 10, 'classification'),
    (e: unknown) => e instanceof InputError && e.field === 'options.init_checkpoint' && /matches no layer of model cnn-small \(width 1\): 0 layer\(s\) matched, 6 skipped/.test(e.message));
  await assert.rejects(initialModel(store, options(saved.key, 1), SHAPE, 10), (e: unknown) => e instanceof InputError && /matches no layer/.test(e.message));
  const weightsFile = (await store.getJson<{ weightsManifest: { paths: string[] }[] }>(saved.key)).weightsManifest[0].paths[0];
  await store.delete(`pre/coarse/${weightsFile}`);
  await assert.rejects(checkInitCheckpoint(store, options(saved.key), SHAPE, 10, 'classification'),
    (e: unknown) => e instanceof NotFoundError && e.message.includes(`weight file pre/coarse/${weightsFile}`));
  // A GraphModel has no layers to match.
  await store.putJson('graph/model.json', { format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] });
  await assert.rejects(checkInitCheckpoint(store, options('graph/model.json'), SHAPE, 10, 'classification'),
    (e: unknown) => e instanceof InputError && e.field === 'options.init_checkpoint' && /GraphModel/.test(e.message));
  for (const m of [coarse, fresh, model]) m.dispose();
});
