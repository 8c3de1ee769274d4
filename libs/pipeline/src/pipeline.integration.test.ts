// The whole loop on real parts: an S3-compatible server on loopback, the four services as separate
// processes (two labelers), real Fashion-MNIST images, tiny training budgets.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { loadManifest } from '@selftrain/data';
import { InputError, NotFoundError } from '@selftrain/errors';
import { silentLogger } from '@selftrain/logger';
import { DatasetManifest, EvaluateRequest, LabelShardRequest, StartTeacherRequest, type RunRecord } from '@selftrain/proto';
import { call, checkHealth, RpcError } from '@selftrain/rpc';
import { S3ObjectStore, startEmbeddedS3, type EmbeddedS3 } from '@selftrain/storage';
import { runPipeline } from './driver';
import { startLocalStack, type LocalStack } from './local-stack';
import { ProgressDisplay } from './progress-display';
import { connectServices, type ServiceClients } from './service-clients';
import { validateSpec, type RunSpec } from './spec';

let home: string;
let s3: EmbeddedS3;
let store: S3ObjectStore;
let stack: LocalStack;
let clients: ServiceClients;
let spec: RunSpec;
let first: RunRecord;

const quietDisplay = new ProgressDisplay({ write: () => true, isTTY: false } as unknown as NodeJS.WriteStream);

before(async () => {
  home = mkdtempSync(path.join(tmpdir(), 'selftrain-it-'));
  s3 = await startEmbeddedS3({ directory: path.join(home, 's3'), port: 0 });
  store = await S3ObjectStore.connect(s3.config);
  stack = await startLocalStack({ home, labelers: 2, logger: silentLogger, storage: s3.config, serviceEnv: { LOG_LEVEL: 'info' } });
  clients = connectServices(stack.addresses);
  const train = { max_steps: 40, eval_every: 20, checkpoint_every: 20, batch_size: 32, warmup_steps: 5 };
  spec = validateSpec({
    name: 'it-tiny',
    dataset: { prefix: 'datasets/fmnist-tiny', limit_train: 1400, limit_test: 300, labels_per_class: 20, val_per_class: 10, shard_size: 300 },
    teacher: { ...train, augment: 's1' },
    student: { ...train, augment: 's4' },
    labeling: { threshold: 0.3, concurrency: 1 },
  });
});

after(async () => {
  clients?.close();
  await stack?.stop();
  store?.close();
  await s3?.close();
  rmSync(home, { recursive: true, force: true });
});

test('the loop runs end to end and records every artifact with its lineage', async () => {
  first = await runPipeline(spec, { store, clients, logger: silentLogger, display: quietDisplay, requestId: 'it-1' });
  assert.equal(first.state, 'succeeded');
  const manifest = await loadManifest(store, spec.dataset.prefix);
  const splits = Object.fromEntries(manifest.splits.map((s) => [s.name, s]));
  assert.equal(splits.labeled.records, 200);
  assert.equal(splits.val.records, 100);
  assert.equal(splits.unlabeled.records, 1100);
  assert.equal(splits.test.records, 300);
  assert.equal(splits.unlabeled.labeled, false);
  const g = first.generations[0];
  for (const name of ['teacher', 'labeling', 'student', 'evaluation'] as const) assert.equal(g[name]?.state, 'succeeded', name);
  // Every unlabeled shard has exactly one pseudo-label shard, and the counts add up.
  assert.equal(g.pseudoShards.length, splits.unlabeled.shards.length);
  assert.equal(g.labelStats?.records, 1100);
  assert.equal((g.labelStats?.kept ?? 0) + (g.labelStats?.dropped ?? 0), 1100);
  assert.equal(g.pseudoShards.reduce((n, s) => n + s.records, 0), g.labelStats?.kept);
  // Artifacts exist with the digests the record names.
  for (const a of [g.teacherCheckpoint!, g.studentCheckpoint!, ...g.pseudoShards]) {
    const st = await store.stat(a.key);
    assert.ok(st, `${a.key} exists`);
    assert.equal(st.sha256, a.sha256, `${a.key} digest`);
  }
  // Lineage: labeling consumed the teacher checkpoint and the unlabeled shards; the student consumed the pseudo shards.
  assert.equal(g.labeling?.inputs[0].key, g.teacherCheckpoint?.key);
  assert.deepEqual(g.labeling?.inputs.slice(1).map((a) => a.key), splits.unlabeled.shards.map((s) => s.key));
  assert.deepEqual(g.student?.inputs.slice(1).map((a) => a.key), g.pseudoShards.map((s) => s.key));
  assert.equal(g.student?.outputs[0].key, g.studentCheckpoint?.key);
  // Evaluations are real: the confusion matrix covers the whole test split.
  assert.equal(g.teacherEval?.count, 300);
  assert.equal(g.studentEval?.confusion.reduce((a, b) => a + b, 0), 300);
  assert.ok((g.teacherEval?.top1 ?? 0) > 0.3, `teacher top-1 ${g.teacherEval?.top1}`);
  assert.ok((g.teacherValEval?.confidentCount ?? 0) > 0);
  assert.equal(g.teacherTrain?.steps, 40);
  assert.ok((g.teacherTrain?.curve.length ?? 0) >= 2);
  // The run record in the bucket is the one returned.
  const stored = await store.getJson<{ state: string }>(`runs/${spec.name}/run.json`);
  assert.equal(stored.state, 'succeeded');
});

test('rerunning the same spec reuses every finished stage', async () => {
  const before = await store.stat(first.generations[0].studentCheckpoint!.key);
  const started = Date.now();
  const second = await runPipeline(spec, { store, clients, logger: silentLogger, display: quietDisplay, requestId: 'it-2' });
  const g1 = first.generations[0];
  const g2 = second.generations[0];
  for (const name of ['teacher', 'labeling', 'student', 'evaluation'] as const) {
    assert.equal(g2[name]?.startedAt, g1[name]?.startedAt, `${name} not redone`);
  }
  assert.equal((await store.stat(g1.studentCheckpoint!.key))?.sha256, before?.sha256);
  assert.ok(Date.now() - started < 20_000, 'reuse is quick');
  // A labeler asked again for a finished shard reuses it.
  const again = await call(clients.labelers[0], clients.labelers[0].labelShard as never, 'LabelShard', {
    checkpoint: g1.teacherCheckpoint!.key, dataset: spec.dataset.prefix, shard: g1.labeling!.inputs[1].key,
    outputPrefix: `runs/${spec.name}/gen0/pseudo`, options: { threshold: 0.3, soft: false, temperature: 1, balance: false, perClassCap: 0, balanceMinConfidence: 0.3, batchSize: 256 },
  }) as { reused: boolean; output: { key: string } };
  assert.equal(again.reused, true);
  assert.equal(again.output.key, g1.pseudoShards[0].key);
});

test('bad requests: INVALID_ARGUMENT naming the field, NOT_FOUND for unknown artifacts', async () => {
  const { teacher, evaluator, labelers } = clients;
  await assert.rejects(call(teacher, teacher.startTraining as never, 'StartTraining', StartTeacherRequest.fromPartial({ jobId: '', dataset: spec.dataset.prefix, outputPrefix: 'x' })),
    (e: unknown) => e instanceof InputError && e.field === 'job_id');
  await assert.rejects(call(teacher, teacher.startTraining as never, 'StartTraining', StartTeacherRequest.fromPartial({ jobId: 'j-bad', dataset: spec.dataset.prefix, outputPrefix: 'x', options: { batchSize: -4 } })),
    (e: unknown) => e instanceof InputError && e.field === 'options.batch_size');
  await assert.rejects(call(teacher, teacher.startTraining as never, 'StartTraining', StartTeacherRequest.fromPartial({ jobId: 'j-bad', dataset: '../etc', outputPrefix: 'x' })),
    (e: unknown) => e instanceof InputError && e.field === 'dataset');
  await assert.rejects(call(teacher, teacher.startTraining as never, 'StartTraining', StartTeacherRequest.fromPartial({ jobId: 'j-nf', dataset: 'datasets/nope', outputPrefix: 'x' })), NotFoundError);
  await assert.rejects(call(evaluator, evaluator.evaluate as never, 'Evaluate', EvaluateRequest.fromPartial({ checkpoint: 'runs/none/model.json', dataset: spec.dataset.prefix, split: 'test' })), NotFoundError);
  await assert.rejects(call(evaluator, evaluator.evaluate as never, 'Evaluate', EvaluateRequest.fromPartial({ checkpoint: first.generations[0].teacherCheckpoint!.key, dataset: spec.dataset.prefix, split: 'nosuch' })), NotFoundError);
  await assert.rejects(call(teacher, teacher.getJob as never, 'GetJob', { jobId: 'never-started' }), NotFoundError);
  await assert.rejects(call(labelers[0], labelers[0].labelShard as never, 'LabelShard', LabelShardRequest.fromPartial({ checkpoint: first.generations[0].teacherCheckpoint!.key, dataset: spec.dataset.prefix, shard: 'datasets/fmnist-tiny/unlabeled/missing.tfrecord', outputPrefix: 'x' })), NotFoundError);
});

test('a corrupted shard fails with DATA_LOSS naming the shard and record offset; nothing written is damaged', async () => {
  const manifest = await loadManifest(store, spec.dataset.prefix);
  const unlabeled = manifest.splits.find((s) => s.name === 'unlabeled')!;
  const original = await store.get(unlabeled.shards[0].key);
  // A copy of the dataset whose first unlabeled shard has one flipped byte in its second record.
  const corrupt = Buffer.from(original);
  const firstLength = Number(corrupt.readBigUInt64LE(0));
  const secondRecord = 8 + 4 + firstLength + 4;
  corrupt[secondRecord + 12 + 5] ^= 0xff;
  const prefix = 'datasets/fmnist-corrupt';
  const badKey = `${prefix}/unlabeled/bad.tfrecord`;
  const put = await store.put(badKey, corrupt);
  const copy: DatasetManifest = { ...manifest, splits: manifest.splits.map((s) => (s.name === 'unlabeled' ? { ...s, shards: [{ ...s.shards[0], key: badKey, sha256: put.sha256 }] } : s)) };
  await store.putJson(`${prefix}/manifest.json`, DatasetManifest.toJSON(copy));
  const outputPrefix = 'runs/corrupt/pseudo';
  const labeler = clients.labelers[0];
  await assert.rejects(
    call(labeler, labeler.labelShard as never, 'LabelShard', LabelShardRequest.fromPartial({ checkpoint: first.generations[0].teacherCheckpoint!.key, dataset: prefix, shard: badKey, outputPrefix })),
    (e: unknown) => e instanceof RpcError && e.code === grpcStatus.DATA_LOSS && e.details.includes(badKey) && e.details.includes(`byte ${secondRecord}`),
  );
  assert.deepEqual(await store.list(outputPrefix), [], 'no partial pseudo-label output');
  assert.deepEqual(await store.get(unlabeled.shards[0].key), original, 'the original shard is untouched');
});

test('every service answers the health check and reports its backend', async () => {
  const { teacher, student, evaluator, labelers } = stack.addresses;
  for (const address of [teacher, student, evaluator, ...labelers]) assert.equal(await checkHealth(address), 'SERVING');
  assert.equal(await checkHealth(teacher, 'selftrain.v1.Teacher'), 'SERVING');
  const info = await call(clients.teacher, clients.teacher.getInfo as never, 'GetInfo', {}) as { backend: string; service: string };
  assert.equal(info.service, 'teacher');
  assert.equal(info.backend, 'wasm');
});
