import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTaskModel, inputMetadata, inputShapeOf, ModelCache } from '@selftrain/checkpoints';
import { initBackend } from '@selftrain/compute';
import { ingestFashionMnist, ingestImages, loadManifest, readShard, splitOf, writePhoto } from '@selftrain/data';
import { ONNX_BACKEND, OnnxCheckpointCache } from '@selftrain/export';
import { silentLogger } from '@selftrain/logger';
import { LabelShardRequest, type LabelingOptions } from '@selftrain/proto';
import { S3ObjectStore, saveModelToBucket, startEmbeddedS3, type EmbeddedS3 } from '@selftrain/storage';
import { TEACHER_DEFAULTS, trainClassifier, trainDefaults } from '@selftrain/train';
import { labelShard, validateLabelShardRequest } from './label-shard';
import type { LabelerDeps } from './task-labeler';

// The labeler's two engines for a classification checkpoint: TF.js (ModelCache) and onnxruntime (the
// checkpoint exported, OnnxCheckpointCache, the default on CPU). Same checkpoint, same shard: the same kept
// records with the same labels, confidences and soft distributions within float rounding.
let dir: string;
let s3: EmbeddedS3;
let store: S3ObjectStore;
let tfjs: LabelerDeps;
let onnx: LabelerDeps;
const FMNIST = 'datasets/fmnist';
const RGB = 'datasets/rgb';
const checkpoints: Record<'fmnist' | 'rgb', string> = { fmnist: '', rgb: '' };

before(async () => {
  delete process.env.SELFTRAIN_BACKEND;
  await initBackend({ purpose: 'train' });
  dir = await mkdtemp(join(tmpdir(), 'label-classification-engines-test-'));
  s3 = await startEmbeddedS3({ directory: dir });
  store = await S3ObjectStore.connect(s3.config);
  tfjs = { store, models: new ModelCache(store), backend: 'wasm', logger: silentLogger };
  onnx = { ...tfjs, checkpointSessions: new OnnxCheckpointCache(store) };

  // Fashion-MNIST's default student, trained briefly: confidences spread over the threshold.
  const { manifest } = await ingestFashionMnist(store, { prefix: FMNIST, labelsPerClass: 40, valPerClass: 5, limitTrain: 2000, limitTest: 100, shardSize: 300 });
  const shape = inputShapeOf(manifest);
  const labeled = (await Promise.all(splitOf(manifest, 'labeled').shards.map(async (s) => readShard(await store.get(s.key), s.key)))).flat();
  const options = { ...trainDefaults('classification', 'student'), model: 'cnn-small', maxSteps: 60, batchSize: 32, evalEvery: 100_000, checkpointEvery: 100_000, augment: 'none' as const, warmupSteps: 5 };
  const model = buildTaskModel(options, shape, 10, 'classification');
  const examples = labeled.map((r) => ({ image: r.image, label: r.label ?? 0 }));
  await trainClassifier({ model, shape, numClasses: 10, labeled: examples, validation: examples.slice(0, 20), backend: 'wasm', options, saveCheckpoint: async () => ({ key: 'unused', sha256: '', sizeBytes: 0 }) });
  checkpoints.fmnist = (await saveModelToBucket(store, 'ckpt/fmnist', model, { dataset: FMNIST, model: 'cnn-small', ...inputMetadata(shape) })).key;
  model.dispose();

  // Photos' model (ResNet-18, CIFAR stem) on real JPEGs ingested with their per-channel statistics
  // (writeModelInput's normalisation table on both engines).
  const photos = join(dir, 'photos');
  const colours: [number, number, number][] = [[200, 40, 40], [40, 180, 60], [50, 60, 210]];
  for (const [c, name] of ['a', 'b', 'c'].entries()) {
    await mkdir(join(photos, name), { recursive: true });
    for (let i = 0; i < 14; i++) {
      const x0 = (i * 5) % 20;
      await writePhoto(join(photos, name, `${i}.jpg`), { width: 32, height: 32, background: 90 + i * 7, rects: [{ x0, y0: 4 + (i % 9), x1: x0 + 10, y1: 20 + (i % 9), rgb: colours[c] }] });
    }
  }
  const ingested = await ingestImages(store, { labeledDir: photos, labelsPerClass: 2, valPerClass: 1, prefix: RGB });
  const rgbShape = inputShapeOf(ingested.manifest);
  assert.ok(rgbShape.mean?.length === 3, 'ingest computed the channel statistics');
  const resnet = buildTaskModel({ ...TEACHER_DEFAULTS, model: 'resnet18', width: 0.125, seed: 5 }, rgbShape, 3, 'classification');
  checkpoints.rgb = (await saveModelToBucket(store, 'ckpt/rgb', resnet, { dataset: RGB, model: 'resnet18', ...inputMetadata(rgbShape) })).key;
  resnet.dispose();
});

after(async () => {
  await onnx?.checkpointSessions?.close();
  store?.close();
  await s3?.close();
  await rm(dir, { recursive: true, force: true });
});

async function labelOnBoth(dataset: string, checkpoint: string, options: Partial<LabelingOptions>) {
  const manifest = await loadManifest(store, dataset);
  const shard = splitOf(manifest, 'unlabeled').shards[0];
  const request = (engine: string) => validateLabelShardRequest(LabelShardRequest.fromPartial({ checkpoint, dataset, shard: shard.key, outputPrefix: `runs/r/${engine}`, options }));
  const a = await labelShard(tfjs, request('tfjs'));
  const b = await labelShard(onnx, request('onnx'));
  const read = async (key: string) => readShard(await store.get(key), key);
  return { a, b, ra: await read(a.output!.key), rb: await read(b.output!.key), total: shard.records };
}

test('a trained classification checkpoint keeps the same pseudo-labels on onnxruntime as on TF.js', async () => {
  const { a, b, ra, rb, total } = await labelOnBoth(FMNIST, checkpoints.fmnist, { threshold: 0.5 });
  assert.equal(a.backend, 'wasm');
  assert.equal(b.backend, ONNX_BACKEND, 'the default engine answers for itself');
  assert.ok(ra.length > 20 && ra.length < total, `a threshold that keeps some and drops some (${ra.length} of ${total})`);
  assert.deepEqual(rb.map((r) => [r.key, r.label]), ra.map((r) => [r.key, r.label]));
  ra.forEach((r, i) => assert.ok(Math.abs(r.confidence! - rb[i].confidence!) < 1e-5, `${r.key}: ${r.confidence} vs ${rb[i].confidence}`));
  assert.deepEqual(b.labelStats, a.labelStats);
});

test('soft labels at a temperature, and an RGB ResNet on normalised input: the same distributions on both engines', async () => {
  for (const [dataset, checkpoint] of [[FMNIST, checkpoints.fmnist], [RGB, checkpoints.rgb]] as const) {
    const { b, ra, rb } = await labelOnBoth(dataset, checkpoint, { threshold: 0, soft: true, temperature: 2 });
    assert.equal(b.backend, ONNX_BACKEND);
    assert.deepEqual(rb.map((r) => r.key), ra.map((r) => r.key));
    ra.forEach((r, i) => {
      const diff = Math.max(...Array.from(r.probabilities!, (p, c) => Math.abs(p - rb[i].probabilities![c])));
      assert.ok(diff < 1e-5, `${dataset} ${r.key}: max diff ${diff}`);
    });
  }
});
