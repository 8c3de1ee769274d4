// A user's ONNX model as generation 0's teacher, on real parts: an S3-compatible server on loopback, the
// four services as processes, real Fashion-MNIST images, tiny training budgets. One teacher is a graph
// built here (NCHW -> Flatten -> Gemm, a nearest-class-mean classifier fitted on the labeled split, its
// classes listed in another order than the dataset's), one is selftrain's own ONNX export of a trained
// checkpoint. Each pseudo-labels, a student trains, and the same evaluator scores teacher and student.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { readSplit } from '@selftrain/data';
import { InputError, NotFoundError } from '@selftrain/errors';
import { exportCheckpoint, OnnxGraphBuilder, onnxModel, encodeOnnx } from '@selftrain/export';
import { EvaluateRequest, LabelShardRequest, type DatasetManifest, type RunRecord, type TeacherModel } from '@selftrain/proto';
import { call, RpcError } from '@selftrain/rpc';
import type { S3ObjectStore } from '@selftrain/storage';
import { runPipeline, type DriverDeps } from './driver';
import { ingestRunDataset } from './ingest-spec-dataset';
import { resultsTable } from './results-table';
import type { ServiceClients } from './service-clients';
import { validateSpec } from './spec';
import { quietDisplay, startLoopbackStack, type LoopbackStack } from './testing/loopback-stack';
import { teacherModelKey } from './teacher-model-file';

let it: LoopbackStack;
let home: string;
let store: S3ObjectStore;
let clients: ServiceClients;
let deps: DriverDeps;
let manifest: DatasetManifest;
let handmade: { file: string; bytes: Uint8Array; classNames: string[]; record?: RunRecord; testTop1: number };

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const DATASET = { prefix: 'datasets/fmnist-onnx', limit_train: 700, limit_test: 200, labels_per_class: 10, val_per_class: 5, shard_size: 300 };
const TRAIN = { max_steps: 8, eval_every: 8, checkpoint_every: 8, batch_size: 16, warmup_steps: 2, width: 1 };
// A threshold of 0.1 keeps every record (ten classes): the plumbing is tested, not how well 8 steps learn.
const LABELING = { threshold: 0.1, concurrency: 1, balance: false };
const spec = (name: string, teacher: Record<string, unknown>) => validateSpec({
  name, generations: 1, dataset: DATASET, teacher, student: { ...TRAIN, augment: 's1' }, labeling: LABELING,
});

before(async () => {
  it = await startLoopbackStack('onnx-it');
  ({ home, store, clients, deps } = it);
  manifest = (await ingestRunDataset(store, spec('ingest', { ...TRAIN }), quietDisplay)).manifest;
});

after(async () => {
  await it?.close();
});

/**
 * Nearest class mean on pixel / 255: logits_k = 2 x.mu_k - |mu_k|^2 (times 10, for confident softmaxes),
 * as a Gemm over the NCHW input flattened; output j is class `order[j]` of the dataset.
 */
function nearestMeanOnnx(labeled: { image: Uint8Array; label?: number }[], order: number[], biasShift = 0): { bytes: Uint8Array; predict: (img: Uint8Array) => number } {
  const D = manifest.height * manifest.width * manifest.channels;
  const K = manifest.classNames.length;
  const mu = Array.from({ length: K }, () => new Float64Array(D));
  const n = new Array<number>(K).fill(0);
  for (const r of labeled) {
    n[r.label!] += 1;
    for (let j = 0; j < D; j++) mu[r.label!][j] += r.image[j] / 255;
  }
  const weights = new Float32Array(K * D);
  const bias = new Float32Array(K);
  order.forEach((k, row) => {
    let norm = 0;
    for (let j = 0; j < D; j++) {
      const m = mu[k][j] / n[k];
      weights[row * D + j] = 20 * m;
      norm += m * m;
    }
    bias[row] = -10 * norm + (row === 0 ? biasShift : 0);
  });
  const g = new OnnxGraphBuilder();
  const input = g.input('pixel_values', ['batch', manifest.channels, manifest.height, manifest.width]);
  g.reserve('logits');
  const flat = g.op('Flatten', [input], 'flat', { axis: 1 });
  g.node('Gemm', [flat, g.floatInitializer('w', [K, D], weights), g.floatInitializer('b', [K], bias)], ['logits'], { transB: 1 });
  g.output('logits', ['batch', K]);
  const bytes = encodeOnnx(onnxModel(g.graph('nearest_mean'), {}, '0', 'fitted in a test'));
  const predict = (img: Uint8Array) => {
    let best = 0;
    let bestScore = -Infinity;
    for (let row = 0; row < K; row++) {
      let s = bias[row];
      for (let j = 0; j < D; j++) s += weights[row * D + j] * (img[j] / 255);
      if (s > bestScore) [best, bestScore] = [order[row], s];
    }
    return best;
  };
  return { bytes, predict };
}

test('a hand-built ONNX graph (not from selftrain) teaches: it pseudo-labels, a student trains, the evaluator scores both', async () => {
  const labeled = await readSplit(store, manifest, 'labeled');
  const K = manifest.classNames.length;
  const order = Array.from({ length: K }, (_, j) => K - 1 - j);
  const { bytes, predict } = nearestMeanOnnx(labeled, order);
  const file = path.join(home, 'nearest-mean.onnx');
  writeFileSync(file, bytes);
  const classNames = order.map((k) => manifest.classNames[k]);
  const testRecords = await readSplit(store, manifest, 'test');
  const testTop1 = testRecords.filter((r) => predict(r.image) === r.label).length / testRecords.length;
  handmade = { file, bytes, classNames, testTop1 };

  const record = await runPipeline(spec('onnx-handmade', {
    source: 'onnx', model: file, preprocess: { input: 'pixel_values', layout: 'NCHW', scale: 1 / 255 }, output: { kind: 'logits' }, class_names: classNames,
  }), deps);
  handmade.record = record;
  assert.equal(record.state, 'succeeded');
  const g = record.generations[0];
  const key = teacherModelKey('onnx', sha(bytes));
  // Content addressed: the file is in the bucket under its sha256, and the run's lineage names it.
  assert.equal((await store.stat(key))?.sha256, sha(bytes));
  assert.deepEqual({ key: g.teacherCheckpoint?.key, sha256: g.teacherCheckpoint?.sha256 }, { key, sha256: sha(bytes) });
  assert.equal(g.teacherModel?.model?.sha256, sha(bytes));
  assert.deepEqual(g.teacherModel?.classNames, classNames);
  assert.equal(g.teacher?.jobId, '', 'nothing trained the teacher');
  assert.equal(g.teacherTrain, undefined);
  assert.equal(g.labeling?.inputs[0].key, key);
  assert.equal(g.labelStats?.records, 700 - 150);
  // The teacher's metric is the evaluator's, on the test split, and it is this graph's own (classes mapped by name).
  assert.equal(g.teacherEval?.count, 200);
  assert.equal(g.teacherEval?.checkpointSha256, sha(bytes));
  assert.ok(Math.abs((g.teacherEval?.top1 ?? 0) - testTop1) < 1e-9, `evaluator ${g.teacherEval?.top1} vs this test's ${testTop1}`);
  assert.ok(testTop1 > 0.5, `a nearest-mean classifier on 100 labels: ${testTop1}`);
  // Its pseudo-labels are its predictions: every kept label is the graph's argmax, mapped to the dataset's classes.
  const pseudo = (await Promise.all(g.pseudoShards.map((s) => readSplit(store, { ...manifest, splits: [{ name: 'p', records: s.records, shards: [s], classCounts: [], labeled: true }] }, 'p')))).flat();
  assert.equal(pseudo.length, g.labelStats?.kept);
  for (const r of pseudo.slice(0, 50)) assert.equal(r.label, predict(r.image), r.key);
  const stats = await store.getJson<{ teacherModel?: { model?: { sha256?: string } } }>(g.labeling!.outputs.find((a) => a.key.endsWith('.stats.json'))!.key);
  assert.equal(stats.teacherModel?.model?.sha256, sha(bytes));
  // The student is scored by the same evaluator; the table shows both.
  assert.equal(g.studentEval?.count, 200);
  assert.match(resultsTable(record), new RegExp(`\\|\\s+0 \\|\\s+${(100 * testTop1).toFixed(2)} \\|`));
});

test('selftrain\'s own ONNX export of a trained checkpoint teaches, and scores what the checkpoint scores', async () => {
  const zoo = await runPipeline(spec('onnx-zoo-base', { ...TRAIN, max_steps: 16, eval_every: 16, checkpoint_every: 16, augment: 's1' }), { ...deps, teacherOnly: true });
  const ckpt = zoo.generations[0].teacherCheckpoint!;
  const exported = await exportCheckpoint(store, ckpt.key, 'onnx');
  const m = exported.metadata;
  const file = path.join(home, 'exported.onnx');
  writeFileSync(file, exported.files[0].bytes);
  const record = await runPipeline(spec('onnx-exported', {
    source: 'onnx', model: file,
    preprocess: { input: m.input_name, layout: m.input_layout, scale: Number(m.pixel_scale), mean: JSON.parse(m.channel_mean ?? '[]'), std: JSON.parse(m.channel_std ?? '[]') },
    output: { kind: 'logits' }, class_names: JSON.parse(m.class_names),
  }), deps);
  assert.equal(record.state, 'succeeded');
  const g = record.generations[0];
  // The same evaluator, the same test split: the ONNX file scores what the checkpoint scored (an image at
  // most may flip on a near tie, the two engines agreeing to ~1e-5 on logits).
  const zooTop1 = zoo.generations[0].teacherEval!.top1;
  assert.ok(Math.abs(g.teacherEval!.top1 - zooTop1) <= 1 / 200 + 1e-9, `onnx ${g.teacherEval!.top1} vs checkpoint ${zooTop1}`);
  assert.equal(g.teacherEval?.backend, 'onnxruntime-node (cpu)');
  assert.equal(g.studentEval?.count, 200);
  assert.ok(g.studentCheckpoint?.key);
});

/** A LabelShard / Evaluate request for the hand-built teacher, as the driver sends it. */
function requests(over: Partial<TeacherModel> = {}) {
  const tm = { ...handmade.record!.generations[0].teacherModel!, ...over };
  const shard = manifest.splits.find((s) => s.name === 'unlabeled')!.shards[0].key;
  const label = LabelShardRequest.fromPartial({ teacherModel: tm, dataset: DATASET.prefix, shard, outputPrefix: 'runs/onnx-keys/pseudo', options: { threshold: 0.1 } });
  const evaluate = EvaluateRequest.fromPartial({ teacherModel: tm, dataset: DATASET.prefix, split: 'test', batchSize: 64 });
  return { tm, label, evaluate };
}
const labelShard = (req: LabelShardRequest) => call<LabelShardRequest, { reused: boolean; output: { key: string } }>(clients.labelers[0], clients.labelers[0].labelShard as never, 'LabelShard', req);
const evaluate = (req: EvaluateRequest) => call(clients.evaluator, clients.evaluator.evaluate as never, 'Evaluate', req);

test('the pseudo-label key follows the ONNX bytes: other bytes, another key; the same bytes, the same (reused) shard', async () => {
  const a = await labelShard(requests().label);
  const again = await labelShard(requests().label);
  assert.equal(again.output.key, a.output.key);
  assert.equal(again.reused, true);
  const labeled = await readSplit(store, manifest, 'labeled');
  const K = manifest.classNames.length;
  const other = nearestMeanOnnx(labeled, Array.from({ length: K }, (_, j) => K - 1 - j), 0.25).bytes;
  const key = teacherModelKey('onnx', sha(other));
  await store.put(key, other);
  const b = await labelShard(requests({ model: { key, sha256: sha(other), sizeBytes: other.length } }).label);
  assert.notEqual(b.output.key, a.output.key);
  assert.equal(b.reused, false);
});

test('bad teacher models: INVALID_ARGUMENT naming the field, NOT_FOUND for a missing file, DATA_LOSS for changed bytes', async () => {
  const invalid = (field: RegExp) => (e: unknown) => e instanceof InputError && field.test(e.field);
  const { tm } = requests();
  await assert.rejects(labelShard(requests({ preprocess: { ...tm.preprocess!, layout: 'CHW' } }).label), invalid(/^teacher_model\.preprocess\.layout$/));
  await assert.rejects(evaluate(requests({ preprocess: { ...tm.preprocess!, scale: 0 } }).evaluate), invalid(/^teacher_model\.preprocess\.scale$/));
  await assert.rejects(labelShard(requests({ classNames: [...tm.classNames.slice(1), 'Sneakers'] }).label),
    (e: unknown) => e instanceof InputError && e.field === 'teacher_model.class_names' && e.message.includes('Sneakers') && e.message.includes(manifest.classNames.join(', ')));
  await assert.rejects(labelShard({ ...requests().label, checkpoint: 'runs/x/model.json' }), invalid(/^checkpoint$/));
  const missing = { key: 'teachers/onnx/missing.onnx', sha256: tm.model!.sha256, sizeBytes: 1 };
  await assert.rejects(labelShard(requests({ model: missing }).label), (e: unknown) => e instanceof NotFoundError && e.message.includes(missing.key));
  await assert.rejects(evaluate(requests({ model: missing }).evaluate), NotFoundError);
  // Someone replaces the bytes in the bucket: the request's sha256 no longer holds.
  const changed = Buffer.from(handmade.bytes);
  changed[changed.length - 1] ^= 0x01;
  await store.put(tm.model!.key, changed);
  try {
    const dataLoss = (e: unknown) => e instanceof RpcError && e.code === grpcStatus.DATA_LOSS && e.details.includes(tm.model!.key) && e.details.includes(sha(changed));
    await assert.rejects(labelShard(requests().label), dataLoss);
    await assert.rejects(evaluate(requests().evaluate), dataLoss);
  } finally {
    await store.put(tm.model!.key, handmade.bytes);
  }
});

test('the spec: a class list that is not the dataset\'s names both lists; bad keys and an output the task cannot read name their path', async () => {
  const bad = [...handmade.classNames.slice(0, -1), 'Sneakers'];
  await assert.rejects(runPipeline(spec('onnx-names', {
    source: 'onnx', model: handmade.file, preprocess: { input: 'pixel_values' }, class_names: bad,
  }), deps), (e: unknown) => e instanceof InputError && e.field === 'teacher.class_names' && e.message.includes(bad.join(', ')) && e.message.includes(manifest.classNames.join(', ')));
  const problems = (raw: Record<string, unknown>) => {
    try {
      validateSpec(raw);
    } catch (err) {
      return (err as Error).message;
    }
    return '';
  };
  const onnx = { source: 'onnx', model: handmade.file, class_names: handmade.classNames };
  assert.match(problems({ teacher: { ...onnx, preprocess: { layuot: 'NCHW' } } }), /teacher\.preprocess\.layuot: unknown key/);
  assert.match(problems({ teacher: { ...onnx, preprocess: { layout: 'CHW' } } }), /teacher\.preprocess\.layout: must be one of NCHW, NHWC/);
  assert.match(problems({ teacher: { ...onnx, preprocess: { mean: [0.5, 'x'] } } }), /teacher\.preprocess\.mean: must be a list of numbers/);
  assert.match(problems({ teacher: { ...onnx, preprocess: { std: [0] } } }), /teacher\.preprocess\.std: every value must be > 0/);
  assert.match(problems({ teacher: { ...onnx, output: { kind: 'softmax' } } }), /teacher\.output\.kind: must be one of logits, probabilities, boxes/);
  assert.match(problems({ teacher: { ...onnx, output: { kind: 'boxes' } } }), /teacher\.output\.kind: is "boxes"; a classification teacher's output is logits or probabilities/);
  assert.match(problems({ teacher: { ...onnx, max_steps: 100 } }), /teacher\.max_steps: trains a zoo teacher; teacher\.source is onnx/);
  assert.match(problems({ teacher: { source: 'onnx', class_names: handmade.classNames } }), /teacher\.model: is required/);
  assert.match(problems({ teacher: { class_names: handmade.classNames } }), /teacher\.class_names: is for a user's model/);
  assert.match(problems({ task: 'detection', teacher: onnx }), /teacher\.output\.kind: is "logits"; a detection teacher's output is boxes/);
  assert.equal(problems({ task: 'detection', teacher: { ...onnx, output: { kind: 'boxes' } } }), '');
  assert.match(problems({ teacher: { ...onnx, source: 'pytorch' } }), /teacher\.source: must be one of zoo, onnx/);
  assert.equal(problems({ teacher: onnx }), '');
});
