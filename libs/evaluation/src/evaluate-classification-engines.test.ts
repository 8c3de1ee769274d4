import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTaskModel, inputMetadata, inputShapeOf, ModelCache } from '@selftrain/checkpoints';
import { initBackend } from '@selftrain/compute';
import { ingestFashionMnist, readShard, splitOf } from '@selftrain/data';
import { ONNX_BACKEND, OnnxCheckpointCache } from '@selftrain/export';
import { EvaluateRequest } from '@selftrain/proto';
import { S3ObjectStore, saveModelToBucket, startEmbeddedS3, type EmbeddedS3 } from '@selftrain/storage';
import { trainClassifier, trainDefaults } from '@selftrain/train';
import { evaluateCheckpoint, validateEvaluateRequest } from './evaluate-checkpoint';

// A classification checkpoint scored on TF.js and on onnxruntime (the evaluator's default on CPU): the
// same figures, each engine named in the response.
let dir: string;
let s3: EmbeddedS3;
let store: S3ObjectStore;
let sessions: OnnxCheckpointCache;
let checkpoint: string;
const DATASET = 'datasets/fmnist';

before(async () => {
  delete process.env.SELFTRAIN_BACKEND;
  await initBackend({ purpose: 'train' });
  dir = await mkdtemp(join(tmpdir(), 'evaluate-classification-engines-test-'));
  s3 = await startEmbeddedS3({ directory: dir });
  store = await S3ObjectStore.connect(s3.config);
  sessions = new OnnxCheckpointCache(store);
  const { manifest } = await ingestFashionMnist(store, { prefix: DATASET, labelsPerClass: 40, valPerClass: 5, limitTrain: 1000, limitTest: 500, shardSize: 250 });
  const shape = inputShapeOf(manifest);
  const labeled = (await Promise.all(splitOf(manifest, 'labeled').shards.map(async (s) => readShard(await store.get(s.key), s.key)))).flat();
  const options = { ...trainDefaults('classification', 'teacher'), maxSteps: 60, batchSize: 32, evalEvery: 100_000, checkpointEvery: 100_000, augment: 'none' as const, warmupSteps: 5 };
  const model = buildTaskModel(options, shape, 10, 'classification');
  const examples = labeled.map((r) => ({ image: r.image, label: r.label ?? 0 }));
  await trainClassifier({ model, shape, numClasses: 10, labeled: examples, validation: examples.slice(0, 20), backend: 'wasm', options, saveCheckpoint: async () => ({ key: 'unused', sha256: '', sizeBytes: 0 }) });
  checkpoint = (await saveModelToBucket(store, 'ckpt/fmnist', model, { dataset: DATASET, model: options.model, ...inputMetadata(shape) })).key;
  model.dispose();
});

after(async () => {
  await sessions?.close();
  store?.close();
  await s3?.close();
  await rm(dir, { recursive: true, force: true });
});

test('a classification checkpoint gets the same top-1, confusion and confident count on onnxruntime as on TF.js', async () => {
  const input = validateEvaluateRequest(EvaluateRequest.fromPartial({ checkpoint, dataset: DATASET, split: 'test' }));
  const base = { store, models: new ModelCache(store), backend: 'wasm' };
  const a = await evaluateCheckpoint(base, input);
  const b = await evaluateCheckpoint({ ...base, checkpointSessions: sessions }, input);
  assert.equal(a.backend, 'wasm');
  assert.equal(b.backend, ONNX_BACKEND);
  assert.equal(a.count, 500);
  assert.ok(a.top1 > 0.3, `a trained model (${a.top1})`);
  assert.deepEqual([b.top1, b.confusion, b.confidentCount, b.checkpointSha256], [a.top1, a.confusion, a.confidentCount, a.checkpointSha256]);
});
