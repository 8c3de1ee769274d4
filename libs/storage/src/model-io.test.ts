import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { CorruptDataError, FailedPreconditionError, NotFoundError } from '@selftrain/errors';
import { startEmbeddedS3, type EmbeddedS3 } from './embedded-s3';
import { bucketModelHandler, loadModelFromBucket, readCheckpointMetadata, saveModelToBucket } from './model-io';
import { S3ObjectStore } from './s3-object-store';

let dir: string;
let s3: EmbeddedS3;
let store: S3ObjectStore;

before(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'model-io-test-'));
  s3 = await startEmbeddedS3({ directory: dir });
  store = await S3ObjectStore.connect(s3.config);
});
after(async () => {
  store?.close();
  await s3?.close();
  await rm(dir, { recursive: true, force: true });
});

function smallModel(): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.dense({ inputShape: [4], units: 8, activation: 'relu' }));
  m.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
  m.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
  return m;
}

test('save then load through the bucket gives identical predictions', async () => {
  const model = smallModel();
  const x = tf.randomNormal([5, 4], 0, 1, 'float32', 7);
  const before = (model.predict(x) as tf.Tensor).arraySync();

  const art = await saveModelToBucket(store, 'ckpt/teacher/step-1/', model, { step: 1, dataset: 'fmnist' });
  assert.equal(art.key, 'ckpt/teacher/step-1/model.json');
  const json = await store.getJson<tf.io.ModelJSON>('ckpt/teacher/step-1/model.json');
  const [[weightsFile]] = json.weightsManifest.map((g) => g.paths);
  assert.match(weightsFile, /^weights-[0-9a-f]{16}\.bin$/, 'the weights file is named by its content');
  assert.deepEqual(await store.list('ckpt/teacher/step-1/'), ['ckpt/teacher/step-1/model.json', `ckpt/teacher/step-1/${weightsFile}`]);
  assert.equal(json.format, 'layers-model');
  assert.match(String(json.generatedBy), /TensorFlow\.js/);
  assert.ok('convertedBy' in json && json.modelTopology && json.weightsManifest[0].weights.length === 4);
  assert.equal(json.trainingConfig, undefined, 'no optimizer state unless asked for');

  const loaded = await loadModelFromBucket(store, art.key);
  const after = (loaded.predict(x) as tf.Tensor).arraySync();
  assert.deepEqual(after, before);
  assert.deepEqual(await readCheckpointMetadata(store, art.key), { step: 1, dataset: 'fmnist' });
  tf.dispose([x]);
});

test('bucketModelHandler works with model.save and tf.loadLayersModel directly', async () => {
  const model = smallModel();
  const result = await model.save(bucketModelHandler(store, 'ckpt/direct'));
  assert.ok((result.modelArtifactsInfo.weightDataBytes ?? 0) > 0);
  const loaded = await tf.loadLayersModel(bucketModelHandler(store, 'ckpt/direct'));
  const x = tf.ones([2, 4]);
  assert.deepEqual((loaded.predict(x) as tf.Tensor).arraySync(), (model.predict(x) as tf.Tensor).arraySync());
  assert.equal(await readCheckpointMetadata(store, 'ckpt/direct/model.json'), undefined);
});

test('includeOptimizer keeps trainingConfig and optimizer weights for resuming', async () => {
  const model = smallModel();
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
  const x = tf.randomNormal([8, 4], 0, 1, 'float32', 3);
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3);
  await model.fit(x, y, { epochs: 1, batchSize: 8, verbose: 0 });
  const art = await saveModelToBucket(store, 'ckpt/resume', model, { step: 1 }, { includeOptimizer: true });
  const json = await store.getJson<tf.io.ModelJSON>(art.key);
  assert.ok(json.trainingConfig);
  const loaded = await loadModelFromBucket(store, art.key);
  const want = await model.optimizer.getWeights();
  const got = await loaded.optimizer.getWeights();
  assert.equal(got.length, want.length);
  assert.deepEqual(got.map((w) => w.tensor.arraySync()), want.map((w) => w.tensor.arraySync()));
  tf.dispose([x, y]);
});

test('a missing model.json is a NotFoundError naming the key', async () => {
  await store.put('ckpt/partial/weights.bin', Buffer.from([1, 2, 3, 4]));
  await assert.rejects(loadModelFromBucket(store, 'ckpt/partial/model.json'),
    (err: unknown) => err instanceof NotFoundError && err.what === 'ckpt/partial/model.json');
  await assert.rejects(tf.loadLayersModel(bucketModelHandler(store, 'ckpt/partial')), NotFoundError);
});

/** smallModel's checkpoint under `dir`, with model.json and its weights file edited as a damaged copy would leave them. */
async function damaged(dir: string, edit: { json?: (j: tf.io.ModelJSON) => unknown; weights?: (b: Buffer) => Buffer }): Promise<string> {
  const art = await saveModelToBucket(store, dir, smallModel());
  const json = await store.getJson<tf.io.ModelJSON>(art.key);
  if (edit.json) await store.put(art.key, Buffer.from(JSON.stringify(edit.json(json))));
  const weightsKey = `${dir}/${json.weightsManifest[0].paths[0]}`;
  if (edit.weights) await store.put(weightsKey, edit.weights(await store.get(weightsKey)));
  return art.key;
}

test('damaged checkpoints are CorruptDataError naming the object; intact but unloadable ones FailedPreconditionError', async () => {
  const cases: [string, Promise<string>, (err: unknown) => boolean][] = [
    ['truncated weights', damaged('bad/truncated', { weights: (b) => b.subarray(0, 40) }),
      (e) => e instanceof CorruptDataError && /^bad\/truncated\/weights-[0-9a-f]{16}\.bin$/.test(e.object) && /40 bytes of weights, .* describes 268/.test(e.message)],
    ['longer weights', damaged('bad/longer', { weights: (b) => Buffer.concat([b, Buffer.alloc(8)]) }),
      (e) => e instanceof CorruptDataError && /^bad\/longer\/weights-[0-9a-f]{16}\.bin$/.test(e.object)],
    ['model.json is null', damaged('bad/null', { json: () => null }),
      (e) => e instanceof CorruptDataError && e.object === 'bad/null/model.json' && /document is null/.test(e.message)],
    ['no weightsManifest', damaged('bad/no-manifest', { json: (j) => ({ ...j, weightsManifest: undefined }) }),
      (e) => e instanceof CorruptDataError && /no weightsManifest/.test(e.message)],
    ['a weight without a shape', damaged('bad/no-shape', { json: (j) => ({ ...j, weightsManifest: [{ paths: ['weights.bin'], weights: [{ name: 'w', dtype: 'float32' }] }] }) }),
      (e) => e instanceof CorruptDataError && /weights\[0\] needs a name, a shape/.test(e.message)],
    ['an unsupported dtype', damaged('bad/float64', { json: (j) => ({ ...j, weightsManifest: [{ ...j.weightsManifest[0], weights: j.weightsManifest[0].weights.map((w) => ({ ...w, dtype: 'float64' })) }] }) }),
      (e) => e instanceof FailedPreconditionError && /bad\/float64\/model\.json: weight ".*" has dtype "float64"/.test(e.message)],
    ['an unknown layer class', damaged('bad/unknown-layer', { json: (j) => JSON.parse(JSON.stringify(j).replaceAll('"Dense"', '"NoSuchLayer"')) }),
      (e) => e instanceof FailedPreconditionError && /checkpoint bad\/unknown-layer\/model\.json is not a model this service can load: .*NoSuchLayer/.test(e.message)],
  ];
  for (const [name, key, check] of cases) {
    await assert.rejects(loadModelFromBucket(store, await key), (err: unknown) => check(err) || assert.fail(`${name}: ${String(err)}`));
  }
});

test('a save killed after its weights and before its model.json leaves the previous checkpoint whole; a committed save deletes the old weights', async () => {
  const x = tf.randomNormal([3, 4], 0, 1, 'float32', 9);
  const first = smallModel();
  const second = smallModel();
  const key = (await saveModelToBucket(store, 'ckpt/killed', first, { step: 20 })).key;
  const want = (first.predict(x) as tf.Tensor).arraySync();
  // The second save dies at its commit: everything before model.json is written, model.json is not.
  const dying = Object.create(store) as S3ObjectStore;
  dying.putJson = async () => { throw new Error('killed'); };
  await assert.rejects(saveModelToBucket(dying, 'ckpt/killed', second, { step: 40 }), /killed/);
  assert.equal((await store.list('ckpt/killed/')).length, 3, 'the new weights were written beside the old ones');
  const resumed = await loadModelFromBucket(store, key);
  assert.deepEqual((resumed.predict(x) as tf.Tensor).arraySync(), want, 'model.json still loads the weights it was saved with');
  assert.deepEqual(await readCheckpointMetadata(store, key), { step: 20 });
  // The next save that commits leaves its own weights only.
  await saveModelToBucket(store, 'ckpt/killed', second, { step: 60 });
  const json = await store.getJson<tf.io.ModelJSON>(key);
  assert.deepEqual(await store.list('ckpt/killed/'), ['ckpt/killed/model.json', `ckpt/killed/${json.weightsManifest[0].paths[0]}`].sort());
  assert.deepEqual(((await loadModelFromBucket(store, key)).predict(x) as tf.Tensor).arraySync(), (second.predict(x) as tf.Tensor).arraySync());
  tf.dispose([x]);
});
