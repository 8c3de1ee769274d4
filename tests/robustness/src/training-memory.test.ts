// Item 1 of issue 15: one valid request must not break the teacher. A job whose estimated memory cannot
// fit the process (the resnet-small, width 8, batch 4096) is refused at Start, quickly, naming the
// option and the limit, and the next good request on the same process succeeds. And when the compute
// backend breaks anyway (a real out-of-bounds access in the wasm module, triggered by the test-only
// SELFTRAIN_TEST_COMPUTE_FAULT_AT_STEP), the teacher reports NOT_SERVING, records the job FAILED but
// resumable, exits 4, and a Start on another teacher resumes the job from its last checkpoint.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client, credentials, Metadata, status } from '@grpc/grpc-js';
import { GetJobRequest, JobState, JobStatus, StartJobResponse, StartTeacherRequest, WatchJobRequest, type TrainOptions } from '@selftrain/proto';
import { S3ObjectStore, startEmbeddedS3, type EmbeddedS3 } from '@selftrain/storage';
import { putRunnableDataset } from './bucket-fixtures';
import { RawClient, type Answer } from './raw-client';
import { startService, type ServiceProcess } from './service-processes';

const DATASET = 'datasets/memory';
const DEADLINE_MS = 60_000;

let dir: string;
let s3: EmbeddedS3;
let store: S3ObjectStore;
const started: ServiceProcess[] = [];

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'selftrain-training-memory-'));
  s3 = await startEmbeddedS3({ directory: path.join(dir, 's3'), port: 0 });
  store = await S3ObjectStore.connect(s3.config);
  await putRunnableDataset(store, DATASET, 1, 8);
});

after(async () => {
  await Promise.all(started.map((s) => s.stop()));
  store?.close();
  await s3?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function teacher(env: Record<string, string> = {}): Promise<ServiceProcess> {
  const svc = await startService('teacher', s3.config, dir, { LOG_LEVEL: 'info', JOB_LEASE_SECONDS: '2', ...env }, started.length);
  started.push(svc);
  return svc;
}

const describe = (a: Answer) => `${status[a.code]} "${a.details}" (${a.ms} ms)`;

function startRequest(jobId: string, options: Partial<TrainOptions>): Buffer {
  return Buffer.from(StartTeacherRequest.encode(StartTeacherRequest.fromPartial({
    jobId, dataset: DATASET, outputPrefix: `runs/memory/${jobId}`, options: { evalEvery: 10, checkpointEvery: 10, warmupSteps: 0, ...options },
  })).finish());
}

async function unary(svc: ServiceProcess, method: string, payload: Buffer): Promise<Answer> {
  const client = new RawClient(svc.address);
  try {
    return await client.unary(`/selftrain.v1.Teacher/${method}`, payload, DEADLINE_MS);
  } finally {
    client.close();
  }
}

async function getJob(svc: ServiceProcess, jobId: string): Promise<JobStatus> {
  const answer = await unary(svc, 'GetJob', Buffer.from(GetJobRequest.encode({ jobId }).finish()));
  assert.equal(answer.code, status.OK, describe(answer));
  return JobStatus.decode(answer.response!);
}

/** Waits for the job to end, through Watch (to its last event), then reads its status. */
async function finish(svc: ServiceProcess, jobId: string): Promise<JobStatus> {
  const client = new RawClient(svc.address);
  try {
    const watched = await client.serverStream('/selftrain.v1.Teacher/WatchJob', Buffer.from(WatchJobRequest.encode({ jobId, afterSeq: 0 }).finish()), 300_000);
    assert.equal(watched.code, status.OK, describe(watched));
  } finally {
    client.close();
  }
  return getJob(svc, jobId);
}

/** grpc.health.v1.Health/Watch on the service's port, spoken on the wire: every status it sends, in order. */
function watchHealth(address: string): { statuses: string[]; ended: Promise<void>; close(): void } {
  const client = new Client(address, credentials.createInsecure());
  const statuses: string[] = [];
  // HealthCheckRequest { service: "" }: no fields. HealthCheckResponse { status = 1 (enum) }.
  const call = client.makeServerStreamRequest('/grpc.health.v1.Health/Watch', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), new Metadata(), {});
  const names = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];
  call.on('data', (b: Buffer) => statuses.push(b.length >= 2 && b[0] === 0x08 ? names[b[1]] : 'UNKNOWN'));
  const ended = new Promise<void>((resolve) => { call.on('error', () => resolve()); call.on('end', () => resolve()); });
  return { statuses, ended, close: () => { call.cancel(); client.close(); } };
}

test('the issue\'s request (resnet-small, width 8, batch 4096, 2 steps) is refused at Start, naming the option and the limit; the next good request succeeds', async () => {
  const svc = await teacher();
  const refused = await unary(svc, 'StartTraining', startRequest('too-big', { model: 'resnet-small', width: 8, batchSize: 4096, maxSteps: 2 }));
  console.log(`refused: ${describe(refused)}`);
  assert.equal(status[refused.code], status[status.INVALID_ARGUMENT], describe(refused));
  assert.equal(refused.field, 'options.batch_size');
  assert.match(refused.details, /^options\.batch_size: 4096 images per step of resnet-small at width 8 .* need about [\d.]+ GiB .*(heap limit|budget of [\d.]+ GiB).*; at most \d+ fit/);
  assert.ok(refused.ms < 30_000, `refused after ${refused.ms} ms`);
  // Nothing was allocated for it: the process is as small as a teacher that trained nothing.
  assert.ok(svc.memory().peakMiB < 1024, `teacher peak RSS ${svc.memory().peakMiB} MiB`);
  const none = await unary(svc, 'GetJob', Buffer.from(GetJobRequest.encode({ jobId: 'too-big' }).finish()));
  assert.equal(none.code, status.NOT_FOUND, 'no job was created');

  // The next good request on the same process trains to its end.
  const good = await unary(svc, 'StartTraining', startRequest('good-after-refusal', { model: 'cnn-small', width: 0.5, batchSize: 8, maxSteps: 4 }));
  assert.equal(good.code, status.OK, describe(good));
  const done = await finish(svc, 'good-after-refusal');
  assert.equal(done.state, JobState.JOB_STATE_SUCCEEDED, done.error);
  assert.equal(done.result?.steps, 4);
  assert.equal(svc.exited(), undefined);
});

test('TRAIN_MEMORY_BUDGET_MB: a job over the configured budget is refused naming it; one within it runs', async () => {
  const svc = await teacher({ TRAIN_MEMORY_BUDGET_MB: '256' });
  const refused = await unary(svc, 'StartTraining', startRequest('over-budget', { model: 'resnet-small', width: 1, batchSize: 512, maxSteps: 2 }));
  assert.equal(status[refused.code], status[status.INVALID_ARGUMENT], describe(refused));
  assert.equal(refused.field, 'options.batch_size');
  assert.match(refused.details, /training memory budget of 256 MiB \(TRAIN_MEMORY_BUDGET_MB\); at most \d+ fit/);
  const fits = await unary(svc, 'StartTraining', startRequest('within-budget', { model: 'cnn-small', width: 0.5, batchSize: 8, maxSteps: 2 }));
  assert.equal(fits.code, status.OK, describe(fits));
  assert.equal((await finish(svc, 'within-budget')).state, JobState.JOB_STATE_SUCCEEDED);
  const widthRefused = await unary(svc, 'StartTraining', startRequest('too-wide', { model: 'resnet-small', width: 8, batchSize: 2, maxSteps: 2 }));
  assert.equal(widthRefused.field, 'options.width', describe(widthRefused));
});

test('a real wasm fault mid-job: NOT_SERVING, the job FAILED but resumable, exit 4; another teacher resumes it from its last checkpoint', async () => {
  const faulty = await teacher({ SELFTRAIN_TEST_COMPUTE_FAULT_AT_STEP: '20' });
  const health = watchHealth(faulty.address);
  const request = startRequest('faulted', { model: 'cnn-small', width: 0.5, batchSize: 8, maxSteps: 40 });
  const first = await unary(faulty, 'StartTraining', request);
  assert.equal(first.code, status.OK, describe(first));
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([faulty.whenExited, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('the teacher did not exit')), 120_000); })]);
  clearTimeout(timer);
  await health.ended;
  health.close();
  assert.deepEqual(exit, { code: 4, signal: null }, `see ${faulty.logFile}`);
  // Repeats collapsed: the runtime and the server's own shutdown both say NOT_SERVING.
  assert.deepEqual(health.statuses.filter((s, i) => s !== health.statuses[i - 1]), ['SERVING', 'NOT_SERVING'], 'health went NOT_SERVING before the process exited');
  const lines = readFileSync(faulty.logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; msg: string; exitCode?: number; jobId?: string; err?: { message: string } });
  const fatal = lines.filter((l) => l.msg.startsWith('the compute backend failed'));
  assert.equal(fatal.length, 1);
  assert.deepEqual([fatal[0].exitCode, fatal[0].jobId, fatal[0].err?.message], [4, 'faulted', 'memory access out of bounds']);

  const recorded = JobStatus.fromJSON(await store.getJson('jobs/teacher/faulted.json'));
  assert.equal(recorded.state, JobState.JOB_STATE_FAILED);
  assert.equal(recorded.resumable, true);
  assert.equal(recorded.owner, '');
  assert.match(recorded.error, /memory access out of bounds \(the compute backend of .* failed under this job; start it again to resume it from its last checkpoint\)/);

  const next = await teacher();
  assert.equal((await getJob(next, 'faulted')).state, JobState.JOB_STATE_FAILED);
  const again = await unary(next, 'StartTraining', request);
  assert.equal(again.code, status.OK, describe(again));
  assert.equal(StartJobResponse.decode(again.response!).created, true);
  const done = await finish(next, 'faulted');
  assert.equal(done.state, JobState.JOB_STATE_SUCCEEDED, done.error);
  assert.equal(done.result?.steps, 40);
  assert.equal(done.result?.resumedFromStep, 20, 'resumed from the checkpoint of step 20, written before the fault');
  assert.equal(done.resumable, false);
});

test('no teacher logged an internal error', () => {
  for (const svc of started) {
    const internal = readFileSync(svc.logFile, 'utf8').split('\n').filter((l) => /"code":"INTERNAL"/.test(l));
    assert.deepEqual(internal, [], `${svc.logFile}`);
  }
});
