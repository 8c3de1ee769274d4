// The teacher as users run it: a separate process, configured by environment, stopped by SIGTERM.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ingestFashionMnist } from '@selftrain/data';
import { call, createClient, stream } from '@selftrain/rpc';
import { JobState, StartTeacherRequest, TeacherClient, type JobEvent, type StartJobResponse } from '@selftrain/proto';
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

test('SIGTERM: the running job checkpoints, the process exits 0', async () => {
  const portFile = path.join(dir, 'teacher.port');
  const p = run(env({ PORT_FILE: portFile, LOG_LEVEL: 'info' }));
  const deadline = Date.now() + 60_000;
  while (!existsSync(portFile) || !readFileSync(portFile, 'utf8')) {
    assert.ok(Date.now() < deadline, `teacher did not start: ${p.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const client = createClient(TeacherClient, `127.0.0.1:${readFileSync(portFile, 'utf8')}`);
  const request = StartTeacherRequest.fromPartial({
    jobId: 'sigterm-job', dataset: 'datasets/tiny', outputPrefix: 'runs/sigterm/teacher',
    options: { maxSteps: 100000, evalEvery: 100000, checkpointEvery: 100000, batchSize: 16 },
  });
  const started = await call<StartTeacherRequest, StartJobResponse>(client, client.startTraining as never, 'StartTraining', request);
  assert.equal(started.created, true);
  // Wait until it is really training, then stop the process.
  for await (const e of stream<{ jobId: string; afterSeq: number }, JobEvent>(client, client.watchJob as never, 'WatchJob', { jobId: 'sigterm-job', afterSeq: 0 })) {
    if ((e.progress?.step ?? 0) >= 10) break;
  }
  client.close();
  p.child.kill('SIGTERM');
  assert.equal(await p.exit, 0, p.output());
  const meta = JSON.parse((await store.get('runs/sigterm/teacher/checkpoints/last/model.json')).toString('utf8'));
  assert.ok(meta.userDefinedMetadata.step >= 10, 'checkpoint holds the step reached');
  assert.equal(meta.userDefinedMetadata.interrupted, true);
  const status = await store.getJson<{ state: string }>('jobs/teacher/sigterm-job.json');
  assert.equal(status.state, JobState[JobState.JOB_STATE_CANCELLED]);
  assert.match(p.output(), /shutting down/);
});
