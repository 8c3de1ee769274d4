// The whole loop on real parts: an S3-compatible server on loopback, the four services as separate
// processes (two labelers), real Fashion-MNIST images, tiny training budgets.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { loadManifest, readShard } from '@selftrain/data';
import { InputError, NotFoundError } from '@selftrain/errors';
import { silentLogger } from '@selftrain/logger';
import { Augment, DatasetManifest, EvaluateRequest, JobState, LabelShardRequest, StartTeacherRequest, type RunRecord, type StartJobResponse } from '@selftrain/proto';
import { call, checkHealth, RpcError } from '@selftrain/rpc';
import { S3ObjectStore, startEmbeddedS3, type EmbeddedS3 } from '@selftrain/storage';
import { runPipeline } from './driver';
import { startLocalStack, type LocalStack } from './local-stack';
import { ProgressDisplay } from './progress-display';
import { connectServices, type ServiceClients } from './service-clients';
import { validateSpec, type RunSpec } from './spec';
import { followJob } from './watch-job';

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
    generations: 2,
    dataset: { prefix: 'datasets/fmnist-tiny', limit_train: 1400, limit_test: 300, labels_per_class: 20, val_per_class: 10, shard_size: 300 },
    // 40 steps train weak, untrustworthy models (their accuracy varies from run to run: initialisation and
    // dropout are not seeded). A threshold of 0.1 keeps every record, since the top probability over ten
    // classes is at least 0.1, so the plumbing is tested independently of how well the models learned.
    teacher: { ...train, augment: 's1', width: 1 },
    student: { ...train, augment: 's2', width: 1 },
    labeling: { threshold: 0.1, concurrency: 1, balance: false },
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
  // Generation 1: the student of generation 0 is the teacher, and it labels again.
  const g1 = first.generations[1];
  assert.deepEqual(g1.teacherCheckpoint, g.studentCheckpoint);
  assert.equal(g1.labeling?.inputs[0].key, g.studentCheckpoint?.key);
  assert.notEqual(g1.studentCheckpoint?.key, g.studentCheckpoint?.key);
  assert.equal(g1.teacherEval?.top1, g.studentEval?.top1, 'the same checkpoint scores the same');
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
    assert.equal(second.generations[1][name]?.startedAt, first.generations[1][name]?.startedAt, `gen 1 ${name} not redone`);
  }
  assert.equal((await store.stat(g1.studentCheckpoint!.key))?.sha256, before?.sha256);
  assert.ok(Date.now() - started < 20_000, 'reuse is quick');
  // A labeler asked again for a finished shard reuses it.
  const again = await call(clients.labelers[0], clients.labelers[0].labelShard as never, 'LabelShard', {
    checkpoint: g1.teacherCheckpoint!.key, dataset: spec.dataset.prefix, shard: g1.labeling!.inputs[1].key,
    outputPrefix: `runs/${spec.name}/gen0/pseudo`, options: { threshold: 0.1, soft: false, temperature: 1, balance: false, perClassCap: 0, balanceMinConfidence: 0.3, batchSize: 256 },
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

test('the CLI: status prints the run record; a bad spec exits 2 naming the key', async () => {
  const c = s3.config;
  const env = { ...process.env, S3_ENDPOINT: `http://${c.endPoint}:${c.port}`, S3_BUCKET: c.bucket, S3_ACCESS_KEY: c.accessKey, S3_SECRET_KEY: c.secretKey };
  const cli = path.resolve(__dirname, 'cli.js');
  // Asynchronous: the S3 server the CLI talks to runs in this process and must keep answering.
  const spawnSync = (bin: string, args: string[], opts: { env: NodeJS.ProcessEnv; encoding: 'utf8' }) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(bin, args, { env: opts.env, encoding: 'utf8' }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ status: code, stdout, stderr });
      });
    });
  const status = await spawnSync(process.execPath, [cli, 'status', spec.name], { env, encoding: 'utf8' });
  assert.equal(status.status, 0, status.stderr);
  assert.match(status.stdout, /run it-tiny: succeeded/);
  assert.match(status.stdout, /gen 0 labeling\s+succeeded/);
  assert.match(status.stdout, /\| gen \| teacher top-1 \| student top-1 \|/);
  const badSpec = path.join(home, 'bad.yaml');
  writeFileSync(badSpec, 'name: x\nteacher:\n  max_stepz: 10\nlabeling:\n  threshold: high\n');
  const bad = await spawnSync(process.execPath, [cli, 'run', badSpec], { env, encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /teacher\.max_stepz: unknown key/);
  assert.match(bad.stderr, /labeling\.threshold: must be a number/);
  const missing = await spawnSync(process.execPath, [cli, 'status', 'no-such-run'], { env, encoding: 'utf8' });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no run no-such-run/);
});

test('soft labels with class balancing: distributions are written, classes capped and filled', async () => {
  const g = first.generations[0];
  const labeler = clients.labelers[1];
  const res = await call(labeler, labeler.labelShard as never, 'LabelShard', LabelShardRequest.fromPartial({
    checkpoint: g.teacherCheckpoint!.key, dataset: spec.dataset.prefix, shard: g.labeling!.inputs[1].key, outputPrefix: 'runs/soft/pseudo',
    options: { soft: true, temperature: 0.5, balance: true, perClassCap: 10, balanceMinConfidence: 0.3 },
  })) as { output: { key: string; records: number }; labelStats: { keptPerClass: number[]; duplicated: number } };
  const records = readShard(await store.get(res.output.key), res.output.key);
  assert.equal(records.length, res.output.records);
  assert.ok(records.every((r) => r.probabilities?.length === 10 && r.label === undefined));
  assert.ok(records.every((r) => Math.abs(r.probabilities!.reduce((a, b) => a + b, 0) - 1) < 1e-4));
  assert.ok(res.labelStats.keptPerClass.every((k) => k <= 10));
  // Every class with at least one confident record is filled to the cap by duplication.
  const filled = res.labelStats.keptPerClass.filter((k) => k > 0).length;
  assert.equal(records.length, filled * 10);
  assert.equal(new Set(records.map((r) => r.key)).size, records.length, 'duplicates get distinct keys');
});

test('a teacher can start from a checkpoint in the bucket (the pretrained init)', async () => {
  const g = first.generations[0];
  const { teacher } = clients;
  const req = StartTeacherRequest.fromPartial({
    jobId: 'init-from-ckpt', dataset: spec.dataset.prefix, outputPrefix: 'runs/init/teacher',
    options: { initCheckpoint: g.teacherCheckpoint!.key, width: 1, maxSteps: 1, evalEvery: 1, learningRate: 1e-7, warmupSteps: 0, augment: Augment.AUGMENT_NONE },
  });
  const started = await call<StartTeacherRequest, StartJobResponse>(teacher, teacher.startTraining as never, 'StartTraining', req);
  const done = await followJob(teacher, started, () => {}, { requestId: 'it-init' });
  assert.equal(done.state, JobState.JOB_STATE_SUCCEEDED, done.error);
  // One step at a tiny learning rate keeps the teacher's weights: its validation accuracy carries over.
  assert.ok(Math.abs(done.result!.bestValTop1 - g.teacherTrain!.bestValTop1) <= 0.05, `${done.result!.bestValTop1} vs ${g.teacherTrain!.bestValTop1}`);
  await assert.rejects(call(teacher, teacher.startTraining as never, 'StartTraining', StartTeacherRequest.fromPartial({
    jobId: 'init-missing', dataset: spec.dataset.prefix, outputPrefix: 'runs/init2/teacher', options: { initCheckpoint: 'runs/none/model.json' },
  })), NotFoundError);
});
