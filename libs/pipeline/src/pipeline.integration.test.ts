// The whole loop on real parts: an S3-compatible server on loopback, the four services as separate
// processes (two labelers) with TLS and a bearer token on every port, real Fashion-MNIST images, tiny
// training budgets.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { nativeCpuKernels } from '@selftrain/compute';
import { loadManifest, readShard } from '@selftrain/data';
import { FailedPreconditionError, InputError, NotFoundError } from '@selftrain/errors';
import { CLASSIFICATION_LABEL_BATCH } from '@selftrain/labeling';
import { silentLogger } from '@selftrain/logger';
import { Augment, DatasetManifest, EvaluateRequest, JobState, LabelShardRequest, StartStudentRequest, StartTeacherRequest, TrainObjective, type RunRecord, type StartJobResponse } from '@selftrain/proto';
import { call, checkHealth, makeTestPki, RpcError, type ClientSecurity } from '@selftrain/rpc';
import { S3ObjectStore, startEmbeddedS3, type EmbeddedS3 } from '@selftrain/storage';
import { runPipeline } from './driver';
import { resultsTable } from './results-table';
import { serviceEnvironment, startLocalStack, startServiceProcess, type LocalStack } from './local-stack';
import { ProgressDisplay } from './progress-display';
import { connectServices, type ServiceClients } from './service-clients';
import { validateSpec, type RunSpec } from './spec';
import { validateGrid } from './experiment-grid';
import { runExperiment } from './run-experiment';
import { verifyPseudoLabelSet } from './verify-pseudo-labels';
import { loadRunRecord } from './run-record-store';
import { followJob } from './watch-job';

let home: string;
let s3: EmbeddedS3;
let store: S3ObjectStore;
let stack: LocalStack;
let clients: ServiceClients;
let spec: RunSpec;
let first: RunRecord;
let security: ClientSecurity;
let stackEnv: Record<string, string>;
const TOKEN = 'integration-token-5f1c9a7e3b';

const quietDisplay = new ProgressDisplay({ write: () => true, isTTY: false } as unknown as NodeJS.WriteStream);

before(async () => {
  home = mkdtempSync(path.join(tmpdir(), 'selftrain-it-'));
  // Keys no log line could contain by chance, so the leak check below means something.
  s3 = await startEmbeddedS3({ directory: path.join(home, 's3'), port: 0, accessKey: 'it-access-9d2e4b', secretKey: 'it-secret-7c1f0a5e' });
  store = await S3ObjectStore.connect(s3.config);
  const pki = makeTestPki(path.join(home, 'tls'));
  const tokenFile = path.join(home, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  stack = await startLocalStack({
    home, labelers: 2, logger: silentLogger, storage: s3.config,
    serviceEnv: stackEnv = {
      LOG_LEVEL: 'info', GRPC_TLS_CERT_FILE: pki.files.serverCert, GRPC_TLS_KEY_FILE: pki.files.serverKey,
      GRPC_AUTH_TOKEN_FILE: tokenFile, HEALTH_PORT: '0', METRICS_PORT: '0',
      // A killed teacher's job is taken over 3 s after its last lease renewal (30 s by default).
      JOB_LEASE_SECONDS: '3',
    },
  });
  security = { tls: { ca: pki.read('ca') }, token: TOKEN };
  clients = connectServices(stack.addresses, security);
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
  const again = await call(clients.labelers[0], clients.labelers[0].labelShard as never, 'LabelShard', LabelShardRequest.fromPartial({
    checkpoint: g1.teacherCheckpoint!.key, dataset: spec.dataset.prefix, shard: g1.labeling!.inputs[1].key,
    outputPrefix: `runs/${spec.name}/gen0/pseudo`, options: { threshold: 0.1, soft: false, temperature: 1, balance: false, perClassCap: 0, balanceMinConfidence: 0.3, batchSize: CLASSIFICATION_LABEL_BATCH },
  })) as { reused: boolean; output: { key: string } };
  assert.equal(again.reused, true);
  assert.equal(again.output.key, g1.pseudoShards[0].key);
});

test('student.init_from_teacher: the student starts from its teacher\'s checkpoint, every layer loaded, and the lineage says so', async () => {
  // One step at the smallest learning rate: a student that loaded its teacher scores what the teacher scores;
  // one from a random init would score near chance (10 classes).
  const warm = validateSpec({
    ...JSON.parse(JSON.stringify(spec)), name: 'it-warm', generations: 1,
    student: { ...spec.student, max_steps: 1, eval_every: 1, checkpoint_every: 1, warmup_steps: 0, learning_rate: 1e-7, init_from_teacher: true },
  });
  const rec = await runPipeline(warm, { store, clients, logger: silentLogger, display: quietDisplay, requestId: 'it-warm' });
  const g = rec.generations[0];
  assert.equal(rec.state, 'succeeded');
  assert.ok(g.student?.inputs.some((a) => a.key === g.teacherCheckpoint?.key), 'the teacher checkpoint is among the student\'s inputs');
  const init = g.studentTrain?.init;
  assert.equal(init?.checkpoint?.key, g.teacherCheckpoint?.key);
  assert.ok((init?.matched.length ?? 0) > 0);
  assert.deepEqual([init?.skipped.length, init?.unmatched.length, init?.unused.length], [0, 0, 0], 'every layer came from the teacher');
  const [teacherTop1, studentTop1] = [g.teacherEval?.top1 ?? 0, g.studentEval?.top1 ?? 0];
  assert.ok(teacherTop1 > 0.3, `teacher top-1 ${teacherTop1}`);
  assert.ok(Math.abs(studentTop1 - teacherTop1) <= 0.02, `student ${studentTop1} vs teacher ${teacherTop1}`);
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

test('every service answers the health check (TLS port and plaintext health port) and reports its backend', async () => {
  const { teacher, student, evaluator, labelers } = stack.addresses;
  for (const address of [teacher, student, evaluator, ...labelers]) assert.equal(await checkHealth(address, '', 5000, security), 'SERVING');
  assert.equal(await checkHealth(teacher, 'selftrain.v1.Teacher', 5000, security), 'SERVING');
  for (const p of stack.processes) assert.equal(await checkHealth(`127.0.0.1:${p.ports.health}`), 'SERVING', `${p.name} health port`);
  const info = await call(clients.teacher, clients.teacher.getInfo as never, 'GetInfo', {}) as { backend: string; service: string; kernels: string };
  assert.equal(info.service, 'teacher');
  assert.equal(info.backend, 'wasm');
  // The service runs the kernels this process would load (native where OpenBLAS is installed, as in CI).
  const native = nativeCpuKernels();
  assert.equal(info.kernels, native.loaded ? native.description : 'wasm');
});

test('security: no token or a wrong one is UNAUTHENTICATED, plaintext is refused, and no secret reaches a log', async () => {
  const noToken = connectServices(stack.addresses, { tls: security.tls });
  const wrongToken = connectServices(stack.addresses, { ...security, token: `${TOKEN}-wrong` });
  const plaintext = connectServices(stack.addresses, { token: TOKEN });
  try {
    for (const c of [noToken, wrongToken]) {
      for (const client of [c.teacher, c.student, c.evaluator, ...c.labelers]) {
        await assert.rejects(call(client, (client as typeof c.teacher).getInfo as never, 'GetInfo', {}), (e: unknown) => e instanceof RpcError && e.code === grpcStatus.UNAUTHENTICATED);
      }
    }
    await assert.rejects(call(plaintext.teacher, plaintext.teacher.getInfo as never, 'GetInfo', {}, { deadlineMs: 5000 }), (e: unknown) => e instanceof RpcError && e.code === grpcStatus.UNAVAILABLE);
  } finally {
    for (const c of [noToken, wrongToken, plaintext]) c.close();
  }
  // Every service logged its calls (with the driver's request id) and never a secret.
  const secrets = [TOKEN, s3.config.secretKey, s3.config.accessKey];
  for (const p of stack.processes) {
    const log = readFileSync(p.log, 'utf8');
    assert.ok(log.length > 0, `${p.name} logged`);
    for (const secret of secrets) assert.ok(!log.includes(secret), `${p.name}'s log holds a secret`);
  }
  const labelerLogs = stack.processes.filter((p) => p.name.startsWith('labeler')).map((p) => readFileSync(p.log, 'utf8')).join('');
  assert.match(labelerLogs, /"requestId":"it-1"/, 'the driver\'s request id reaches the labelers\' logs');
  assert.match(readFileSync(stack.processes.find((p) => p.name === 'teacher-0')!.log, 'utf8'), /"requestId":"it-1"/);
});

test('metrics: each service exports its calls, throughput and pseudo-label counts', async () => {
  const scrape = async (name: string) => {
    const p = stack.processes.find((x) => x.name === name)!;
    const res = await fetch(`http://127.0.0.1:${p.ports.metrics}/metrics`);
    assert.equal(res.status, 200);
    return res.text();
  };
  const labelerText = (await scrape('labeler-0')) + (await scrape('labeler-1'));
  const kept = [...labelerText.matchAll(/selftrain_pseudo_labels_total\{outcome="kept",service="labeler"\} (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
  const dropped = [...labelerText.matchAll(/selftrain_pseudo_labels_total\{outcome="dropped",service="labeler"\} (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
  // Both generations labeled all 1,100 records once (later calls were reuses, which count nothing).
  assert.ok(kept + dropped >= 2 * 1100, `kept ${kept} + dropped ${dropped}`);
  assert.match(labelerText, /selftrain_rpc_calls_total\{method="\/selftrain.v1.Labeler\/LabelShard",code="OK",service="labeler"\}/);
  assert.match(labelerText, /selftrain_rpc_calls_total\{method="\/selftrain.v1.Labeler\/GetInfo",code="UNAUTHENTICATED",service="labeler"\}/);
  const teacherText = await scrape('teacher-0');
  assert.match(teacherText, /selftrain_jobs\{state="JOB_STATE_SUCCEEDED",service="teacher"\} [1-9]/);
  assert.match(teacherText, /selftrain_images_per_second\{stage="train",service="teacher"\} [1-9]/);
  assert.match(await scrape('evaluator-0'), /selftrain_images_total\{stage="evaluate",service="evaluator"\} [1-9]/);
});

test('a labeler replica that is gone: its shards go to the others and the set is complete', async () => {
  // Nothing listens on port 1: that replica fails every call, as a pre-empted pod's address does.
  const withDead = connectServices({ ...stack.addresses, labelers: ['127.0.0.1:1', ...stack.addresses.labelers] }, security);
  try {
    const failover = { ...spec, name: 'it-failover', generations: 1 };
    const rec = await runPipeline(failover, { store, clients: withDead, logger: silentLogger, display: quietDisplay, requestId: 'it-failover' });
    assert.equal(rec.state, 'succeeded');
    const g = rec.generations[0];
    const manifest = await loadManifest(store, spec.dataset.prefix);
    const unlabeled = manifest.splits.find((x) => x.name === 'unlabeled')!;
    assert.equal(g.labelStats?.records, unlabeled.records, 'every unlabeled record labeled');
    assert.equal(g.pseudoShards.length, unlabeled.shards.length, 'one pseudo shard per unlabeled shard, none twice');
    assert.equal(new Set(g.pseudoShards.map((x) => x.key)).size, unlabeled.shards.length);
  } finally {
    withDead.close();
  }
});

test('the S3 endpoint gone for 10 s mid-run: every call retries through it and the run completes', async () => {
  const outage = { ...spec, name: 'it-outage', generations: 1 };
  const running = runPipeline(outage, { store, clients, logger: silentLogger, display: quietDisplay, requestId: 'it-outage' });
  // Down once the teacher is training (its checkpoints and the driver's record writes hit the outage).
  const deadline = Date.now() + 60_000;
  while (!(await store.exists(`runs/${outage.name}/gen0/teacher/checkpoints/best/model.json`))) {
    assert.ok(Date.now() < deadline, 'the teacher never wrote a checkpoint');
    await new Promise((r) => setTimeout(r, 100));
  }
  const { port } = s3.config;
  await s3.close();
  const downAt = Date.now();
  await new Promise((r) => setTimeout(r, 10_000));
  s3 = await startEmbeddedS3({ directory: path.join(home, 's3'), port, accessKey: s3.config.accessKey, secretKey: s3.config.secretKey });
  const rec = await running;
  assert.equal(rec.state, 'succeeded');
  assert.ok(Date.now() - downAt >= 10_000);
  assert.equal(rec.generations[0].labelStats?.records, 1100);
  assert.ok(await store.exists(rec.generations[0].studentCheckpoint!.key), 'the final checkpoint is in the bucket');
});

test('the teacher killed mid-training: restarted at its address, it resumes the job from its last checkpoint', async () => {
  const killed = { ...spec, name: 'it-teacher-kill', generations: 1, teacher: { ...spec.teacher, max_steps: 100, checkpoint_every: 20, eval_every: 50 } };
  const running = runPipeline(killed, { store, clients, logger: silentLogger, display: quietDisplay, requestId: 'it-teacher-kill' });
  const last = `runs/${killed.name}/gen0/teacher/checkpoints/last/model.json`;
  const deadline = Date.now() + 60_000;
  while (!(await store.exists(last))) {
    assert.ok(Date.now() < deadline, 'the teacher never checkpointed');
    await new Promise((r) => setTimeout(r, 50));
  }
  const victim = stack.processes.find((p) => p.name === 'teacher-0')!;
  // Listening before the kill: the exit can come while the checkpoint is read below.
  const exited = new Promise((r) => victim.child.once('exit', r));
  victim.child.kill('SIGKILL');
  const checkpointed = JSON.parse((await store.get(last)).toString('utf8')).userDefinedMetadata.step as number;
  await exited;
  // Back at the same address, as a pod behind its Service.
  const port = stack.addresses.teacher.split(':')[1];
  const env = serviceEnvironment(s3.config, { ...stackEnv, GRPC_PORT: port });
  const again = await startServiceProcess('teacher', env, path.join(home, 'services'), silentLogger, 1);
  stack.processes.push({ name: 'teacher-1', pid: again.child.pid ?? 0, child: again.child, ports: again.ports, log: again.log });
  const rec = await running;
  assert.equal(rec.state, 'succeeded', rec.error);
  const t = rec.generations[0].teacherTrain!;
  assert.equal(t.steps, 100, 'ends at the same step count');
  assert.ok(t.resumedFromStep >= checkpointed && t.resumedFromStep % 20 === 0, `resumed from ${t.resumedFromStep}`);
  console.log(`teacher killed with its last checkpoint at step ${checkpointed}; resumed from step ${t.resumedFromStep}; ended at ${t.steps} (checkpoint interval 20)`);
  assert.equal(rec.generations[0].labelStats?.records, 1100, 'every unlabeled record labeled once');
  assert.ok(await store.exists(rec.generations[0].studentCheckpoint!.key));
});

test('an experiment grid: Rand Init vs an init checkpoint, supervised and + self-training, in the paper\'s tables', async () => {
  const pretrained = first.generations[0].teacherCheckpoint!.key;
  const { name: _n, services: _s, local: _l, ...base } = spec;
  const grid = validateGrid({
    name: 'it-grid', base: { ...base, generations: 1 }, seeds: [0],
    axes: { labeled_fraction: [1], augment: ['s1'], init: ['random', `checkpoint:${pretrained}`], self_training: [false, true] },
  });
  const outcome = await runExperiment(grid, { store, clients, logger: silentLogger, display: quietDisplay, requestId: 'it-grid' });
  assert.equal(outcome.results.length, 2);
  assert.ok(outcome.results.every((r) => r.teacherTop1 !== undefined && r.studentTop1 !== undefined && r.teacherCurve.length >= 2));
  const [byAugment, , convergence] = outcome.tables;
  assert.deepEqual(byAugment.rows.map((r) => r.name), ['Rand Init', 'Rand Init + self-training', `Pretrain Init (${pretrained.replace(/\/model\.json$/, '')})`, `Pretrain Init (${pretrained.replace(/\/model\.json$/, '')}) + self-training`]);
  assert.match(String(byAugment.rows[1].values['100 %']), /^\d+\.\d\d \([+-]\d+\.\d\d\)$/);
  assert.equal(convergence.rows.length, 1);
  assert.ok(await store.exists(outcome.keys.tables));
  // Again: every stage is reused.
  const again = await runExperiment(grid, { store, clients, logger: silentLogger, display: quietDisplay, requestId: 'it-grid-2' });
  assert.deepEqual(again.results.map((r) => r.studentTop1), outcome.results.map((r) => r.studentTop1));
  // A missing init checkpoint is named before anything runs.
  const missing = validateGrid({ ...grid, axes: { ...grid.axes, init: ['checkpoint:runs/none/model.json'] } });
  await assert.rejects(runExperiment(missing, { store, clients, logger: silentLogger, display: quietDisplay, requestId: 'it-grid-3' }), (e: unknown) => e instanceof NotFoundError && /axes.init checkpoint:runs\/none\/model.json/.test(e.message));
});

test('a grid that makes its own inits: supervised on coarse labels, SimCLR on the unlabeled pool, joint training; two cells at a time', async () => {
  const { name: _n, services: _s, local: _l, ...base } = spec;
  const tiny = { max_steps: 30, eval_every: 15, checkpoint_every: 15, batch_size: 32, warmup_steps: 5 };
  const grid = validateGrid({
    name: 'it-made', base: { ...base, generations: 1 }, seeds: [0],
    axes: { labeled_fraction: [1], augment: ['s1'], init: ['random', 'supervised', 'simclr', 'joint'], self_training: [false, true] },
    pretrain: { coarse_labels_per_class: 60, coarse_val_per_class: 20, supervised: tiny, simclr: { ...tiny, augment: 's1' }, joint_weight: 0.5 },
  });
  const outcome = await runExperiment(grid, { store, clients, logger: silentLogger, display: quietDisplay, requestId: 'it-made' }, 2);
  const [supervised, simclr] = outcome.pretraining;
  assert.deepEqual(outcome.pretraining.map((p) => [p.kind, p.trainSplit, p.steps, p.reused]), [['supervised', 'labeled', 30, false], ['simclr', 'unlabeled', 30, false]]);
  assert.match(supervised.dataset, /-coarse-l60-v20-s0$/);
  assert.equal(simclr.dataset, spec.dataset.prefix, 'SimCLR reads the base dataset\'s unlabeled pool');
  assert.equal((await loadManifest(store, supervised.dataset)).classNames.length, 4, 'the coarse label space');
  for (const p of outcome.pretraining) assert.ok(await store.exists(p.checkpoint), p.checkpoint);
  // Each cell's teacher and student start from what its init made.
  assert.equal(outcome.results.length, 4);
  assert.ok(outcome.results.every((r) => r.teacherTop1 !== undefined && r.studentTop1 !== undefined));
  const specOf = async (init: string) => JSON.parse((await loadRunRecord(store, outcome.results.find((r) => r.init === init)!.run))!.specJson) as RunSpec;
  assert.equal((await specOf('supervised')).teacher.init_checkpoint, supervised.checkpoint);
  assert.equal((await specOf('simclr')).student.init_checkpoint, simclr.checkpoint);
  const joint = await specOf('joint');
  assert.deepEqual([joint.teacher.auxiliary_dataset, joint.student.auxiliary_dataset, joint.teacher.init_checkpoint], [supervised.dataset, supervised.dataset, '']);
  const logs = stack.processes.map((p) => readFileSync(p.log, 'utf8')).join('');
  assert.match(logs, /"auxiliaryLoss":\d/, 'the joint cells trained the auxiliary head');
  const byAugment = outcome.tables[0];
  assert.deepEqual(byAugment.rows.map((r) => r.name).filter((n) => !n.endsWith('self-training')), ['Rand Init', 'Supervised Init (coarse labels)', 'SimCLR Init', 'Joint Training (coarse labels)']);
  assert.equal(outcome.tables.at(-1)!.title, 'Pretraining: the inits the grid made');
  // Again: the pretrainings and every stage are reused.
  const again = await runExperiment(grid, { store, clients, logger: silentLogger, display: quietDisplay, requestId: 'it-made-2' }, 2);
  assert.deepEqual(again.pretraining.map((p) => p.reused), [true, true]);
  assert.deepEqual(again.results.map((r) => r.studentTop1), outcome.results.map((r) => r.studentTop1));
  // The options behind these inits are checked like any other field.
  const { student, teacher } = clients;
  await assert.rejects(call(student, student.startTraining as never, 'StartTraining', StartStudentRequest.fromPartial({
    jobId: 'j-simclr-student', dataset: spec.dataset.prefix, outputPrefix: 'x', pseudoShards: first.generations[0].pseudoShards, options: { objective: TrainObjective.TRAIN_OBJECTIVE_SIMCLR },
  })), (e: unknown) => e instanceof InputError && e.field === 'options.objective');
  await assert.rejects(call(teacher, teacher.startTraining as never, 'StartTraining', StartTeacherRequest.fromPartial({
    jobId: 'j-aux-missing', dataset: spec.dataset.prefix, outputPrefix: 'x', options: { auxiliaryDataset: 'datasets/no-such-aux' },
  })), (e: unknown) => e instanceof NotFoundError && /options.auxiliary_dataset: dataset datasets\/no-such-aux not found/.test(e.message));
});

test('detection and segmentation run through the same services and driver by changing the task in the spec', async () => {
  const train = { max_steps: 12, eval_every: 6, checkpoint_every: 6, batch_size: 4, warmup_steps: 2, width: 0.25 };
  for (const task of ['detection', 'segmentation'] as const) {
    // Plumbing, not accuracy: low thresholds (over 11 classes the top probability of a pixel is at least
    // 1/11; detections below 0.05 are never candidates, so the detector's teacher trains long enough to
    // score some boxes above that).
    const teacher = task === 'detection' ? { ...train, max_steps: 150, eval_every: 75, checkpoint_every: 75, batch_size: 8 } : train;
    const dense = validateSpec({
      name: `it-${task}`, task, teacher, student: train,
      dataset: { prefix: `datasets/it-scenes-${task}`, shard_size: 24, scenes: { labeled: 24, val: 12, unlabeled: 48, test: 16, canvas: 64 } },
      labeling: { threshold: task === 'detection' ? 0.05 : 0.09, concurrency: 1, min_kept_fraction: 0 },
    });
    const rec = await runPipeline(dense, { store, clients, logger: silentLogger, display: quietDisplay, requestId: `it-${task}` });
    assert.equal(rec.state, 'succeeded', rec.error);
    const g = rec.generations[0];
    const manifest = await loadManifest(store, dense.dataset.prefix);
    assert.deepEqual(manifest.splits.map((x) => [x.name, x.records]), [['labeled', 24], ['val', 12], ['unlabeled', 48], ['test', 16]]);
    // The pseudo shards hold boxes or masks in the human records' format, and their statistics add up.
    const pseudo = (await Promise.all(g.pseudoShards.map(async (sh) => readShard(await store.get(sh.key), sh.key)))).flat();
    assert.equal(g.labelStats?.records, 48);
    if (task === 'detection') {
      assert.ok(pseudo.every((r) => Array.isArray(r.objects) && r.mask === undefined && r.label === undefined));
      const boxes = pseudo.reduce((n, r) => n + r.objects!.length, 0);
      assert.ok(boxes > 0 && boxes === g.labelStats?.boxes, `${boxes} boxes in the shards, ${g.labelStats?.boxes} in the stats`);
      assert.ok(pseudo.flatMap((r) => r.objects!).every((o) => o.label >= 1 && o.label <= 10 && o.xmin >= 0 && o.xmax <= 1 && o.xmin < o.xmax));
      for (const e of [g.teacherEval, g.studentEval]) assert.ok(e?.detection && e.detection.ap >= 0 && e.detection.apPerClass.length === 10 && e.top1 === 0);
    } else {
      assert.ok(pseudo.every((r) => r.mask?.length === 64 * 64 && r.objects === undefined));
      assert.equal(g.labelStats?.pixels, 48 * 64 * 64);
      assert.equal(g.labelStats?.ignoredPixels, 0, 'a threshold under 1/11 keeps every pixel');
      for (const e of [g.teacherEval, g.studentEval]) assert.ok(e?.segmentation && e.segmentation.meanIou >= 0 && e.segmentation.iouPerClass.length === 11);
    }
    // The evaluator exported the predictions (COCO results JSON / palette PNG masks), recorded as the stage's outputs.
    assert.equal(g.evaluation!.outputs.length, 2);
    for (const a of g.evaluation!.outputs) assert.ok(await store.exists(a.key), a.key);
    assert.match(resultsTable(rec), task === 'detection' ? /teacher AP/ : /teacher mIoU/);
  }
  // A dataset of the user's, already in the bucket: its task must be the spec's, and it must be there.
  const deps = { store, clients, logger: silentLogger, display: quietDisplay, requestId: 'it-bucket' };
  await assert.rejects(runPipeline(validateSpec({ name: 'it-bucket-task', task: 'segmentation', dataset: { source: 'bucket', prefix: 'datasets/it-scenes-detection' } }), deps),
    (e: unknown) => e instanceof InputError && e.field === 'task' && /labeled for detection/.test(e.message));
  await assert.rejects(runPipeline(validateSpec({ name: 'it-bucket-none', task: 'detection', dataset: { source: 'bucket', prefix: 'datasets/not-ingested' } }), deps),
    (e: unknown) => e instanceof NotFoundError && /dataset.prefix: dataset datasets\/not-ingested not found/.test(e.message));
  // A teacher that keeps nothing stops the run before a student trains on empty labels.
  const strict = validateSpec({
    name: 'it-detection-strict', task: 'detection', teacher: train, student: train, labeling: { threshold: 0.999, concurrency: 1 },
    dataset: { prefix: 'datasets/it-scenes-detection', shard_size: 24, scenes: { labeled: 24, val: 12, unlabeled: 48, test: 16, canvas: 64 } },
  });
  await assert.rejects(runPipeline(strict, { store, clients, logger: silentLogger, display: quietDisplay, requestId: 'it-strict' }), FailedPreconditionError);
  assert.equal((await loadRunRecord(store, 'it-detection-strict'))!.generations[0].student!.state, 'pending');
});

test('the student refuses an incomplete pseudo-label set, naming what is missing', async () => {
  const g = first.generations[0];
  const manifest = await loadManifest(store, spec.dataset.prefix);
  const unlabeled = manifest.splits.find((x) => x.name === 'unlabeled')!.shards;
  const stats = g.labeling!.outputs.filter((a) => a.key.endsWith('.stats.json'));
  await verifyPseudoLabelSet(store, unlabeled, stats, g.pseudoShards);
  await assert.rejects(verifyPseudoLabelSet(store, unlabeled, stats.slice(1), g.pseudoShards),
    (e: unknown) => e instanceof FailedPreconditionError && /1 unlabeled shard\(s\) have no pseudo-labels/.test(e.message) && e.message.includes('unlabeled/'));
  // A pseudo shard gone from the bucket (a copy of the set, so the run's own objects stay intact).
  const copyKey = 'runs/verify-copy/pseudo/gone.tfrecord';
  const copied = g.pseudoShards.map((x, i) => (i === 0 ? { ...x, key: copyKey } : x));
  await assert.rejects(verifyPseudoLabelSet(store, unlabeled, stats, copied), (e: unknown) => e instanceof FailedPreconditionError && /is not in the run record/.test(e.message));
  // A manifest whose shard has more records than were labeled.
  const grown = unlabeled.map((u, i) => (i === 0 ? { ...u, records: u.records + 1 } : u));
  await assert.rejects(verifyPseudoLabelSet(store, grown, stats, g.pseudoShards), (e: unknown) => e instanceof FailedPreconditionError && /records labeled, the manifest has/.test(e.message));
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

test('0 sent over gRPC is 0, not the default: a labeling threshold 0 keeps every record, a seed 0 is its own seed', async () => {
  const g = first.generations[0];
  const [labeler] = clients.labelers;
  const shard = g.labeling!.inputs[1];
  const res = await call(labeler, labeler.labelShard as never, 'LabelShard', LabelShardRequest.fromPartial({
    checkpoint: g.teacherCheckpoint!.key, dataset: spec.dataset.prefix, shard: shard.key, outputPrefix: 'runs/it-zero/pseudo', options: { threshold: 0 },
  })) as { output: { key: string; records: number }; stats: { key: string }; labelStats: { records: number; kept: number } };
  // Before fields had presence, 0 was read as unset and the shard was labeled at 0.5.
  assert.equal(res.labelStats.kept, res.labelStats.records);
  assert.equal((await store.getJson<{ options: { threshold: number } }>(res.stats.key)).options.threshold, 0);

  // One step at a tiny learning rate, without dropout (its masks are not seeded): the loss is the initial
  // weights' and the batch's, both drawn from the seed.
  const { teacher } = clients;
  const firstLoss = async (name: string, seed: number | undefined) => {
    const req = StartTeacherRequest.fromPartial({
      jobId: `seed-${name}`, dataset: spec.dataset.prefix, outputPrefix: `runs/it-seed-${name}/teacher`,
      options: { width: 0.25, batchSize: 8, maxSteps: 1, evalEvery: 1, learningRate: 1e-7, augment: Augment.AUGMENT_NONE, dropout: 0, seed },
    });
    const done = await followJob(teacher, await call<StartTeacherRequest, StartJobResponse>(teacher, teacher.startTraining as never, 'StartTraining', req), () => {}, { requestId: `it-seed-${name}` });
    assert.equal(done.state, JobState.JOB_STATE_SUCCEEDED, done.error);
    return [done.result!.curve[0].loss, done.result!.bestValTop1];
  };
  const [zero, one, unset] = [await firstLoss('zero', 0), await firstLoss('one', 1), await firstLoss('unset', undefined)];
  assert.deepEqual(one, unset, 'seed 1 is the default');
  assert.notDeepEqual(zero, unset, 'seed 0 trained as seed 1');
});

test('preprocessing travels with the checkpoint: a dataset of another normalisation or geometry is FAILED_PRECONDITION naming both', async () => {
  const g = first.generations[0];
  const { teacher, evaluator, labelers } = clients;
  // The same records under a manifest that declares per-channel statistics (as an images ingest writes)...
  const manifest = await loadManifest(store, spec.dataset.prefix);
  const normalized = 'datasets/fmnist-tiny-normalized';
  await store.putJson(`${normalized}/manifest.json`, DatasetManifest.toJSON({ ...manifest, channelMean: [0.286], channelStd: [0.353] }));
  // ...and under one of another size.
  const resized = 'datasets/fmnist-tiny-32px';
  await store.putJson(`${resized}/manifest.json`, DatasetManifest.toJSON({ ...manifest, height: 32, width: 32 }));
  const unlabeledShard = g.labeling!.inputs[1].key;
  const refused = (dataset: string, trained: RegExp, given: RegExp) => (e: unknown) =>
    e instanceof RpcError && e.code === grpcStatus.FAILED_PRECONDITION && trained.test(e.message) && given.test(e.message) && e.message.includes(dataset);

  // A checkpoint of the plain dataset (pixel / 255) on the normalised one: refused by the evaluator and the labeler.
  const plain = g.teacherCheckpoint!.key;
  const plainOnNormalized = refused(normalized, /trained on 28x28x1, pixel \/ 255/, /is 28x28x1, normalised with mean \[0\.2860\] std \[0\.3530\]/);
  await assert.rejects(call(evaluator, evaluator.evaluate as never, 'Evaluate', EvaluateRequest.fromPartial({ checkpoint: plain, dataset: normalized, split: 'test' })), plainOnNormalized);
  await assert.rejects(call(labelers[0], labelers[0].labelShard as never, 'LabelShard', LabelShardRequest.fromPartial({ checkpoint: plain, dataset: normalized, shard: unlabeledShard, outputPrefix: 'runs/it-norm/pseudo' })), plainOnNormalized);
  // Another geometry, the same way.
  await assert.rejects(call(evaluator, evaluator.evaluate as never, 'Evaluate', EvaluateRequest.fromPartial({ checkpoint: plain, dataset: resized, split: 'test' })),
    refused(resized, /trained on 28x28x1/, /is 32x32x1/));

  // A teacher trained on the normalised dataset records what it was fed, and is refused on the plain one.
  const req = StartTeacherRequest.fromPartial({
    jobId: 'normalized-teacher', dataset: normalized, outputPrefix: 'runs/it-norm/teacher',
    options: { width: 0.25, batchSize: 16, maxSteps: 2, evalEvery: 2, checkpointEvery: 2, augment: Augment.AUGMENT_NONE },
  });
  const done = await followJob(teacher, await call<StartTeacherRequest, StartJobResponse>(teacher, teacher.startTraining as never, 'StartTraining', req), () => {}, { requestId: 'it-norm' });
  assert.equal(done.state, JobState.JOB_STATE_SUCCEEDED, done.error);
  const checkpoint = done.result!.bestCheckpoint!.key;
  const json = await store.getJson<{ userDefinedMetadata: { input: unknown } }>(checkpoint);
  assert.deepEqual(json.userDefinedMetadata.input, { height: 28, width: 28, channels: 1, mean: [0.286], std: [0.353] });
  const scored = await call<EvaluateRequest, { count: number }>(evaluator, evaluator.evaluate as never, 'Evaluate', EvaluateRequest.fromPartial({ checkpoint, dataset: normalized, split: 'test' }));
  assert.equal(scored.count, 300);
  await assert.rejects(call(evaluator, evaluator.evaluate as never, 'Evaluate', EvaluateRequest.fromPartial({ checkpoint, dataset: spec.dataset.prefix, split: 'test' })),
    refused(spec.dataset.prefix, /trained on 28x28x1, normalised with mean \[0\.2860\] std \[0\.3530\]/, /is 28x28x1, pixel \/ 255/));
});
