// The teacher as users run it: a separate process, configured by environment, stopped by SIGTERM.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ingestFashionMnist } from '@selftrain/data';
import { credentials } from '@grpc/grpc-js';
import { call, createClient, stream } from '@selftrain/rpc';
import { JobState, StartTeacherRequest, TeacherClient, type JobEvent, type JobStatus, type StartJobResponse } from '@selftrain/proto';
import { S3ObjectStore, startEmbeddedS3, type EmbeddedS3 } from '@selftrain/storage';

const MAIN = path.resolve(__dirname, 'main.js');
let dir: string;
let s3: EmbeddedS3;
let store: S3ObjectStore;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'teacher-proc-'));
  s3 = await startEmbeddedS3({ directory: path.join(dir, 's3'), port: 0 });
  store = await S3ObjectStore.connect(s3.config);
  await ingestFashionMnist(store, { prefix: 'datasets/tiny', limitTrain: 600, limitTest: 100, labelsPerClass: 10, valPerClass: 5, shardSize: 200 });
});

after(async () => {
  store?.close();
  await s3?.close();
  rmSync(dir, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const c = s3.config;
  return {
    PATH: process.env.PATH, S3_ENDPOINT: `http://${c.endPoint}:${c.port}`, S3_BUCKET: c.bucket, S3_ACCESS_KEY: c.accessKey,
    S3_SECRET_KEY: c.secretKey, GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ...extra,
  };
}

function run(e: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [MAIN], { env: e, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exit };
}

test('bad configuration: every problem reported at once, exit code 2, no secret in the log', async () => {
  const p = run(env({ GRPC_PORT: 'abc', MAX_CONCURRENT_JOBS: '0', SELFTRAIN_BACKEND: 'quantum', S3_SECRET_KEY: 'super-secret-value' }));
  assert.equal(await p.exit, 2);
  const log = p.output();
  for (const name of ['GRPC_PORT', 'MAX_CONCURRENT_JOBS', 'SELFTRAIN_BACKEND']) assert.match(log, new RegExp(name));
  assert.doesNotMatch(log, /super-secret-value/);
});

/** Short, so a killed replica's jobs are orphaned quickly in these tests (the default is 30 s). */
const LEASE_SECONDS = 2;

async function startTeacher(name: string): Promise<{ p: ReturnType<typeof run>; port: number; client: InstanceType<typeof TeacherClient> }> {
  const portFile = path.join(dir, `${name}.port`);
  const p = run(env({ PORT_FILE: portFile, LOG_LEVEL: 'info', JOB_LEASE_SECONDS: String(LEASE_SECONDS) }));
  const deadline = Date.now() + 60_000;
  while (!existsSync(portFile) || !readFileSync(portFile, 'utf8')) {
    assert.ok(Date.now() < deadline, `teacher did not start: ${p.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const port = Number(readFileSync(portFile, 'utf8'));
  return { p, port, client: createClient(TeacherClient, `127.0.0.1:${port}`) };
}

async function untilStep(client: InstanceType<typeof TeacherClient>, jobId: string, step: number): Promise<number> {
  for await (const e of stream<{ jobId: string; afterSeq: number }, JobEvent>(client, client.watchJob as never, 'WatchJob', { jobId, afterSeq: 0 })) {
    if ((e.progress?.step ?? 0) >= step) return e.progress!.step;
  }
  throw new Error(`job ${jobId} ended before step ${step}`);
}

async function finish(client: InstanceType<typeof TeacherClient>, jobId: string): Promise<JobStatus> {
  for await (const _ of stream<{ jobId: string; afterSeq: number }, JobEvent>(client, client.watchJob as never, 'WatchJob', { jobId, afterSeq: 0 })) { /* to the end */ }
  return call<{ jobId: string }, JobStatus>(client, client.getJob as never, 'GetJob', { jobId });
}

const resumable = (jobId: string, maxSteps: number) => StartTeacherRequest.fromPartial({
  jobId, dataset: 'datasets/tiny', outputPrefix: `runs/${jobId}/teacher`,
  options: { maxSteps, evalEvery: 20, checkpointEvery: 10, batchSize: 16, warmupSteps: 2 },
});

test('SIGTERM: the running job checkpoints, the process exits 0, and the same Start on a new process resumes it', async () => {
  const first = await startTeacher('sigterm-1');
  const request = resumable('sigterm-job', 40);
  const started = await call<StartTeacherRequest, StartJobResponse>(first.client, first.client.startTraining as never, 'StartTraining', request);
  assert.equal(started.created, true);
  await untilStep(first.client, 'sigterm-job', 13);
  first.client.close();
  first.p.child.kill('SIGTERM');
  assert.equal(await first.p.exit, 0, first.p.output());
  assert.match(first.p.output(), /shutting down/);
  const meta = JSON.parse((await store.get('runs/sigterm-job/teacher/checkpoints/last/model.json')).toString('utf8')).userDefinedMetadata;
  assert.ok(meta.step >= 13, `the checkpoint holds the step reached (${meta.step})`);
  assert.equal(meta.interrupted, true);
  const saved = await store.getJson<{ state: string; owner?: string }>('jobs/teacher/sigterm-job.json');
  assert.deepEqual([saved.state, saved.owner ?? ''], ['JOB_STATE_RUNNING', ''], 'an interrupted job is released, not recorded as finished');

  const second = await startTeacher('sigterm-2');
  try {
    await call(second.client, second.client.startTraining as never, 'StartTraining', request);
    const done = await finish(second.client, 'sigterm-job');
    assert.equal(done.state, JobState.JOB_STATE_SUCCEEDED, done.error);
    assert.equal(done.result?.steps, 40);
    assert.equal(done.result?.resumedFromStep, meta.step, 'resumed exactly where SIGTERM stopped it');
  } finally {
    second.client.close();
    second.p.child.kill('SIGTERM');
    await second.p.exit;
  }
});

test('kill -9: after a restart the job resumes from its last checkpoint, not from zero, and ends at the same step count', async () => {
  const first = await startTeacher('kill-1');
  const request = resumable('killed-job', 60);
  await call(first.client, first.client.startTraining as never, 'StartTraining', request);
  const reached = await untilStep(first.client, 'killed-job', 25);
  first.client.close();
  first.p.child.kill('SIGKILL');
  await first.p.exit;

  const second = await startTeacher('kill-2');
  try {
    // Until the dead replica's lease runs out the job still looks owned; then a Start takes it over.
    await new Promise((r) => setTimeout(r, LEASE_SECONDS * 1000 + 500));
    const again = await call<StartTeacherRequest, StartJobResponse>(second.client, second.client.startTraining as never, 'StartTraining', request);
    assert.equal(again.created, true, 'the new process knows nothing of the job but its checkpoint');
    const done = await finish(second.client, 'killed-job');
    assert.equal(done.state, JobState.JOB_STATE_SUCCEEDED, done.error);
    assert.equal(done.result?.steps, 60);
    const from = done.result?.resumedFromStep ?? 0;
    // The last checkpoint before the kill: a multiple of checkpoint_every, at most one interval back.
    assert.ok(from > 0 && from % 10 === 0 && reached - from < 10 + 10, `resumed from ${from}, killed near ${reached}`);
    // The curve carries the evaluations from before the kill.
    assert.ok(done.result!.curve.some((c) => c.step === 20), 'the step-20 evaluation survived the kill');
    assert.match(second.p.output(), /resuming an interrupted job/);
    console.log(`kill -9 at step ~${reached}; resumed from step ${from}; steps redone ${Math.max(0, reached - from)} (checkpoint interval 10)`);
  } finally {
    second.client.close();
    second.p.child.kill('SIGTERM');
    await second.p.exit;
  }
});

test('two replicas behind one address: a job started through either is reachable, and cancellable, through both', async () => {
  const a = await startTeacher('replica-a');
  const b = await startTeacher('replica-b');
  // One address for both, as a Kubernetes Service gives: calls are spread round-robin.
  const shared = new (TeacherClient as unknown as new (address: string, creds: unknown, options: object) => InstanceType<typeof TeacherClient>)(
    `ipv4:127.0.0.1:${a.port},127.0.0.1:${b.port}`, credentials.createInsecure(), { 'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }) },
  );
  try {
    const request = resumable('replicated-job', 40);
    const started = await call<StartTeacherRequest, StartJobResponse>(shared, shared.startTraining as never, 'StartTraining', request);
    const owner = started.status!.owner;
    assert.ok(owner, 'the status names the replica that runs the job');
    // Again through the shared address (it lands on the other replica at least once): the same job, not a second one.
    for (let i = 0; i < 4; i++) {
      const again = await call<StartTeacherRequest, StartJobResponse>(shared, shared.startTraining as never, 'StartTraining', request);
      assert.equal(again.created, false);
      assert.equal(again.status?.owner, owner);
    }
    const statuses = await Promise.all([a.client, b.client].map((c) => call<{ jobId: string }, JobStatus>(c, c.getJob as never, 'GetJob', { jobId: 'replicated-job' })));
    assert.ok(statuses.every((st) => st.owner === owner));
    // Watch through each replica: both see the job to its end.
    const [viaA, viaB] = await Promise.all([finish(a.client, 'replicated-job'), finish(b.client, 'replicated-job')]);
    assert.equal(viaA.state, JobState.JOB_STATE_SUCCEEDED, viaA.error);
    assert.equal(viaB.state, JobState.JOB_STATE_SUCCEEDED, viaB.error);
    assert.equal(viaA.result?.steps, 40);
    assert.equal(viaB.result?.steps, 40);

    // Cancel through the replica that does not run the job.
    const long = resumable('cancel-elsewhere', 100000);
    // Started on A directly, so A owns it; B is asked to cancel it.
    await call<StartTeacherRequest, StartJobResponse>(a.client, a.client.startTraining as never, 'StartTraining', long);
    await untilStep(a.client, 'cancel-elsewhere', 10);
    await call(b.client, b.client.cancelJob as never, 'CancelJob', { jobId: 'cancel-elsewhere' });
    const cancelled = await finish(b.client, 'cancel-elsewhere');
    assert.equal(cancelled.state, JobState.JOB_STATE_CANCELLED);
    assert.match(cancelled.error, /another replica/);
  } finally {
    shared.close();
    for (const r of [a, b]) { r.client.close(); r.p.child.kill('SIGTERM'); await r.p.exit; }
  }
});
