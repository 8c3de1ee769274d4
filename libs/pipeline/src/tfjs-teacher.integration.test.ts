// A stock TF.js model as generation 0's teacher, on real parts: an S3-compatible server on loopback, the
// four services as processes, real Fashion-MNIST images, tiny training budgets. The model is selftrain's own
// stock TF.js export (`selftrain export --format tfjs`) of a trained checkpoint, read from a folder; the same
// model from a web server and from s3://, and the checkpoint itself, teach the same way. It pseudo-labels, a
// student trains, and the same evaluator scores teacher and student.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { InputError, NotFoundError } from '@selftrain/errors';
import { exportCheckpoint, ONNX_BACKEND } from '@selftrain/export';
import { EvaluateRequest, LabelShardRequest, type DatasetManifest, type EvaluateResponse, type RunRecord, type TeacherModel } from '@selftrain/proto';
import { call, RpcError } from '@selftrain/rpc';
import { readTfjsModelFiles, tfjsModelDigest, type S3ObjectStore } from '@selftrain/storage';
import { runPipeline, type DriverDeps } from './driver';
import { ingestRunDataset } from './ingest-spec-dataset';
import { resultsTable } from './results-table';
import type { ServiceClients } from './service-clients';
import { validateSpec } from './spec';
import { quietDisplay, startLoopbackStack, type LoopbackStack } from './testing/loopback-stack';
import { publishTeacherModel, teacherModelKey } from './teacher-model-file';

let it: LoopbackStack;
let home: string;
let store: S3ObjectStore;
let clients: ServiceClients;
let deps: DriverDeps;
let manifest: DatasetManifest;
let web: Server;
let webBase: string;
/** The trained checkpoint, its score, its stock TF.js export in a folder, and that export's contract keys. */
let zoo: { key: string; top1: number };
let exported: { dir: string; files: { path: string; bytes: Buffer }[]; teacher: Record<string, unknown> };
let record: RunRecord;

const DATASET = { prefix: 'datasets/fmnist-tfjs', limit_train: 700, limit_test: 200, labels_per_class: 10, val_per_class: 5, shard_size: 300 };
const TRAIN = { max_steps: 8, eval_every: 8, checkpoint_every: 8, batch_size: 16, warmup_steps: 2, width: 1 };
// A threshold of 0.1 keeps every record (ten classes): the plumbing is tested, not how well 8 steps learn.
const LABELING = { threshold: 0.1, concurrency: 1, balance: false };
const spec = (name: string, teacher: Record<string, unknown>) => validateSpec({
  name, generations: 1, dataset: DATASET, teacher, student: { ...TRAIN, augment: 's1' }, labeling: LABELING,
});

before(async () => {
  it = await startLoopbackStack('tfjs-it');
  ({ home, store, clients, deps } = it);
  manifest = (await ingestRunDataset(store, spec('ingest', { ...TRAIN }), quietDisplay)).manifest;

  const base = await runPipeline(spec('tfjs-zoo-base', { ...TRAIN, max_steps: 16, eval_every: 16, checkpoint_every: 16, augment: 's1' }), { ...deps, teacherOnly: true });
  zoo = { key: base.generations[0].teacherCheckpoint!.key, top1: base.generations[0].teacherEval!.top1 };
  const out = await exportCheckpoint(store, zoo.key, 'tfjs');
  const dir = path.join(home, 'exported');
  mkdirSync(dir);
  for (const f of out.files) writeFileSync(path.join(dir, f.name), f.bytes);
  const m = out.metadata;
  const files = (await readTfjsModelFiles(async (p) => readFileSync(path.join(dir, p)), dir)).files;
  exported = {
    dir, files, teacher: {
      source: 'tfjs', model: dir, preprocess: { input: m.input_name, scale: Number(m.pixel_scale), mean: JSON.parse(m.channel_mean ?? '[]'), std: JSON.parse(m.channel_std ?? '[]') },
      output: { kind: 'logits' }, class_names: JSON.parse(m.class_names),
    },
  };

  // The same folder served over HTTP on loopback (a 404 for what is not there).
  web = createServer((req, res) => {
    try {
      res.end(readFileSync(path.join(home, decodeURIComponent(new URL(req.url!, 'http://x').pathname))));
    } catch {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  webBase = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise((resolve) => web?.close(resolve));
  await it?.close();
});

test('selftrain\'s stock TF.js export of a trained checkpoint teaches: it pseudo-labels, a student trains, the evaluator scores both', async () => {
  record = await runPipeline(spec('tfjs-exported', exported.teacher), deps);
  assert.equal(record.state, 'succeeded');
  const g = record.generations[0];
  // Content addressed: model.json and its weights are in the bucket under the digest of all the files, and
  // the run's lineage names it where an ONNX file's sha256 goes.
  const digest = tfjsModelDigest(exported.files);
  const key = teacherModelKey('tfjs', digest);
  assert.equal(key, `teachers/tfjs/${digest}/model.json`);
  assert.deepEqual((await store.list(`teachers/tfjs/${digest}/`)).sort(), [key, `teachers/tfjs/${digest}/weights.bin`]);
  assert.deepEqual({ key: g.teacherCheckpoint?.key, sha256: g.teacherCheckpoint?.sha256 }, { key, sha256: digest });
  assert.equal(g.teacherModel?.source, 'tfjs');
  assert.equal(g.teacherModel?.preprocess?.layout, 'NHWC', 'the default layout of a TF.js teacher');
  assert.equal(g.teacher?.jobId, '', 'nothing trained the teacher');
  assert.equal(g.teacherTrain, undefined);
  assert.equal(g.labeling?.inputs[0].key, key);
  assert.equal(g.labelStats?.records, 700 - 150);
  const stats = await store.getJson<{ teacherModel?: { model?: { sha256?: string } } }>(g.labeling!.outputs.find((a) => a.key.endsWith('.stats.json'))!.key);
  assert.equal(stats.teacherModel?.model?.sha256, digest);
  // The same evaluator, the same test split: the export scores what the checkpoint scored (an image at most
  // may flip on a near tie: the checkpoint was scored on onnxruntime, the evaluator's default for checkpoints).
  assert.equal(g.teacherEval?.count, 200);
  assert.equal(g.teacherEval?.checkpointSha256, digest);
  assert.ok(Math.abs(g.teacherEval!.top1 - zoo.top1) <= 1 / 200 + 1e-9, `tfjs ${g.teacherEval!.top1} vs checkpoint ${zoo.top1}`);
  // A TF.js teacher runs on the services' own TF.js backend, in the labeler as in the evaluator.
  assert.notEqual(g.teacherEval?.backend, ONNX_BACKEND);
  assert.equal(g.teacherEval?.backend, g.labeling?.backend);
  assert.equal(g.studentEval?.count, 200);
  assert.ok(g.studentCheckpoint?.key);
  assert.match(resultsTable(record), new RegExp(`\\|\\s+0 \\|\\s+${(100 * g.teacherEval!.top1).toFixed(2)} \\|`));
});

/** An Evaluate call for a TeacherModel, as the driver sends one. */
const evaluate = (tm: TeacherModel) => call<EvaluateRequest, EvaluateResponse>(clients.evaluator, clients.evaluator.evaluate as never, 'Evaluate',
  EvaluateRequest.fromPartial({ teacherModel: tm, dataset: DATASET.prefix, split: 'test', batchSize: 64 }));
const labelShard = (tm: TeacherModel) => call<LabelShardRequest, { reused: boolean; output: { key: string } }>(clients.labelers[0], clients.labelers[0].labelShard as never, 'LabelShard',
  LabelShardRequest.fromPartial({ teacherModel: tm, dataset: DATASET.prefix, shard: manifest.splits.find((s) => s.name === 'unlabeled')!.shards[0].key, outputPrefix: 'runs/tfjs-keys/pseudo', options: { threshold: 0.1 } }));

test('the same model from a web server and from s3:// is the same upload; the checkpoint itself teaches as a stock LayersModel', async () => {
  const tm = record.generations[0].teacherModel!;
  for (const model of [`${webBase}/exported/model.json`, `s3://${store.bucket}/${tm.model!.key}`]) {
    const published = await publishTeacherModel(store, spec('tfjs-where', { ...exported.teacher, model }), manifest);
    assert.deepEqual(published.contract.model, tm.model, model);
    assert.equal(published.engine, undefined);
  }
  // The selftrain checkpoint's own model.json (Keras topology, no custom layer in this model) as a TF.js teacher.
  const ckpt = await publishTeacherModel(store, spec('tfjs-checkpoint', { ...exported.teacher, model: `s3://${store.bucket}/${zoo.key}` }), manifest);
  assert.notEqual(ckpt.contract.model.sha256, tm.model!.sha256);
  const scored = await evaluate(ckpt.contract);
  assert.ok(Math.abs(scored.top1 - zoo.top1) <= 1 / 200 + 1e-9, `the checkpoint as a TF.js teacher ${scored.top1}, as a checkpoint ${zoo.top1}`);
});

test('the pseudo-label key follows every file of the model: the same files, the same (reused) shard; one weight byte, another key', async () => {
  const tm = record.generations[0].teacherModel!;
  const a = await labelShard(tm);
  const again = await labelShard(tm);
  assert.equal(again.output.key, a.output.key);
  assert.equal(again.reused, true);
  const changed = exported.files.map((f) => ({ ...f, bytes: Buffer.from(f.bytes) }));
  changed[1].bytes[0] ^= 0x01;
  const digest = tfjsModelDigest(changed);
  const key = teacherModelKey('tfjs', digest);
  for (const f of changed.slice(1)) await store.put(`teachers/tfjs/${digest}/${f.path}`, f.bytes);
  await store.put(key, changed[0].bytes);
  const b = await labelShard({ ...tm, model: { key, sha256: digest, sizeBytes: 0 } });
  assert.notEqual(b.output.key, a.output.key);
  assert.equal(b.reused, false);
});

test('bad TF.js teachers: INVALID_ARGUMENT naming the field, NOT_FOUND for a missing model.json, DATA_LOSS for changed weights', async () => {
  const tm = record.generations[0].teacherModel!;
  const invalid = (field: string, message?: RegExp) => (e: unknown) => e instanceof InputError && e.field === field && (!message || message.test(e.message));
  // Requests: a model.json whose weights file is gone; a size the model does not take; no model.json.
  const dir = 'uploads/no-weights';
  await store.put(`${dir}/model.json`, exported.files[0].bytes);
  const noWeights = { ...tm, model: { key: `${dir}/model.json`, sha256: tm.model!.sha256, sizeBytes: 0 } };
  await assert.rejects(labelShard(noWeights), invalid('teacher_model.model', /names the weights file weights\.bin, which is missing/));
  await assert.rejects(evaluate(noWeights), invalid('teacher_model.model'));
  await assert.rejects(evaluate({ ...tm, preprocess: { ...tm.preprocess!, height: 32, width: 32 } }), invalid('teacher_model.preprocess.height', /takes 28/));
  await assert.rejects(evaluate({ ...tm, model: { ...tm.model!, key: 'uploads/none/model.json' } }), (e: unknown) => e instanceof NotFoundError && e.message.includes('uploads/none/model.json'));
  // Someone replaces the weights in the bucket: the request's digest no longer holds.
  const weightsKey = tm.model!.key.replace(/model\.json$/, 'weights.bin');
  const changed = Buffer.from(exported.files[1].bytes);
  changed[changed.length - 1] ^= 0x01;
  await store.put(weightsKey, changed);
  try {
    const dataLoss = (e: unknown) => e instanceof RpcError && e.code === grpcStatus.DATA_LOSS && e.details.includes(tm.model!.key);
    await assert.rejects(evaluate(tm), dataLoss);
  } finally {
    await store.put(weightsKey, exported.files[1].bytes);
  }

  // The spec: each is refused naming its teacher.* key before any service is called.
  const folder = (name: string, files: Record<string, string | Buffer>) => {
    const d = path.join(home, name);
    mkdirSync(d, { recursive: true });
    for (const [f, bytes] of Object.entries(files)) writeFileSync(path.join(d, f), bytes);
    return d;
  };
  const publish = (teacher: Record<string, unknown>) => publishTeacherModel(store, spec('tfjs-bad', { ...exported.teacher, ...teacher }), manifest);
  await assert.rejects(publish({ model: folder('json-only', { 'model.json': exported.files[0].bytes }) }), invalid('teacher.model', /names the weights file weights\.bin, which is missing/));
  await assert.rejects(publish({ model: folder('not-tfjs', { 'model.json': JSON.stringify({ weights: 'weights.pt' }) }) }), invalid('teacher.model', /not a TF\.js LayersModel model\.json/));
  await assert.rejects(publish({ model: `${webBase}/nowhere/model.json` }), (e: unknown) => e instanceof NotFoundError && /answered HTTP 404/.test(e.message));
  await assert.rejects(publish({ preprocess: { ...exported.teacher.preprocess as object, size: 32 } }), invalid('teacher.preprocess.height', /takes 28/));
  await assert.rejects(publish({ preprocess: { ...exported.teacher.preprocess as object, layout: 'NCHW' } }), invalid('teacher.preprocess.width', /layout NCHW/));
  const names = [...(exported.teacher.class_names as string[]).slice(0, -1), 'Sneakers'];
  await assert.rejects(publish({ class_names: names }), (e: unknown) => e instanceof InputError && e.field === 'teacher.class_names' && e.message.includes(names.join(', ')) && e.message.includes(manifest.classNames.join(', ')));
  assert.throws(() => spec('tfjs-train', { ...exported.teacher, max_steps: 100 }), /teacher\.max_steps: trains a zoo teacher; teacher\.source is tfjs/);
});
