// The CLI against real services: `run` a tiny spec on remote services configured as the pipeline Job is
// (addresses, CA and token from the environment), then `status`, `--resume` (nothing redone), and the
// errors a user meets (a bad spec, a missing run, a labeler that never comes up).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { silentLogger } from '@selftrain/logger';
import { startLocalStack, type LocalStack } from '@selftrain/pipeline';
import { makeTestPki } from '@selftrain/rpc';
import { S3ObjectStore, startEmbeddedS3, type EmbeddedS3 } from '@selftrain/storage';

const TOKEN = 'cli-integration-token-3e8b1d';
let home: string;
let s3: EmbeddedS3;
let store: S3ObjectStore;
let stack: LocalStack;
let env: NodeJS.ProcessEnv;
let remote: NodeJS.ProcessEnv;

before(async () => {
  home = mkdtempSync(path.join(tmpdir(), 'selftrain-cli-'));
  s3 = await startEmbeddedS3({ directory: path.join(home, 's3'), port: 0 });
  store = await S3ObjectStore.connect(s3.config);
  const pki = makeTestPki(path.join(home, 'tls'));
  const tokenFile = path.join(home, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  stack = await startLocalStack({
    home, labelers: 1, logger: silentLogger, storage: s3.config,
    serviceEnv: { GRPC_TLS_CERT_FILE: pki.files.serverCert, GRPC_TLS_KEY_FILE: pki.files.serverKey, GRPC_AUTH_TOKEN_FILE: tokenFile, HEALTH_PORT: '0', METRICS_PORT: '0' },
  });
  const c = s3.config;
  env = { ...process.env, SELFTRAIN_HOME: home, S3_ENDPOINT: `http://${c.endPoint}:${c.port}`, S3_BUCKET: c.bucket, S3_ACCESS_KEY: c.accessKey, S3_SECRET_KEY: c.secretKey };
  remote = {
    ...env, SELFTRAIN_TEACHER: stack.addresses.teacher, SELFTRAIN_STUDENT: stack.addresses.student, SELFTRAIN_EVALUATOR: stack.addresses.evaluator,
    SELFTRAIN_LABELERS: stack.addresses.labelers.join(','), GRPC_TLS_CA_FILE: path.join(home, 'tls', 'ca.crt'), GRPC_AUTH_TOKEN_FILE: tokenFile,
  };
});

after(async () => {
  await stack?.stop();
  store?.close();
  await s3?.close();
  rmSync(home, { recursive: true, force: true });
});

// Asynchronous: the S3 server the CLI talks to runs in this process and must keep answering.
function cli(args: string[], e: NodeJS.ProcessEnv): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.resolve(__dirname, 'cli.js'), ...args], { env: e, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ status: code, stdout, stderr });
    });
  });
}

test('run, status, run --resume (nothing redone); a bad spec exits 2 naming the key; missing runs and services are named', async () => {
  const train = { max_steps: 10, eval_every: 10, checkpoint_every: 10, batch_size: 16, warmup_steps: 2, width: 1 };
  const specFile = path.join(home, 'cli-tiny.json');
  writeFileSync(specFile, JSON.stringify({
    name: 'cli-tiny', generations: 1,
    dataset: { prefix: 'datasets/fmnist-cli', limit_train: 600, limit_test: 200, labels_per_class: 10, val_per_class: 5, shard_size: 300 },
    // A threshold of 0.1 keeps every record: the plumbing is tested, not how well 10 steps learn.
    teacher: { ...train, augment: 's1' }, student: { ...train, augment: 's2' }, labeling: { threshold: 0.1, concurrency: 1, balance: false },
  }));
  const run = await cli(['run', specFile], remote);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /run cli-tiny succeeded/);
  assert.match(run.stdout, /\| gen \| teacher top-1 \| student top-1 \|/);

  const status = await cli(['status', 'cli-tiny'], env);
  assert.equal(status.status, 0, status.stderr);
  assert.match(status.stdout, /run cli-tiny: succeeded/);
  assert.match(status.stdout, /gen 0 labeling\s+succeeded/);
  const json = await cli(['status', 'cli-tiny', '--json'], { ...env, LOG_LEVEL: 'debug' });
  assert.equal(json.status, 0, json.stderr);
  const record = JSON.parse(json.stdout) as { runId: string; generations: { student: { startedAt: string } }[] };
  assert.equal(record.runId, 'cli-tiny');

  // --resume takes the spec from the run record; every stage is already done, so nothing is redone.
  const resumed = await cli(['run', '--resume', 'cli-tiny'], remote);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stdout, /run cli-tiny succeeded/);
  const after = await store.getJson<{ generations: { student: { startedAt: string } }[] }>('runs/cli-tiny/run.json');
  assert.equal(after.generations[0].student.startedAt, record.generations[0].student.startedAt, 'the finished student was not retrained');

  // A labeler that never comes up: the run waits SELFTRAIN_WAIT_SECONDS, then says which service is missing.
  const waited = await cli(['run', '--resume', 'cli-tiny'], { ...remote, SELFTRAIN_LABELERS: '127.0.0.1:1', SELFTRAIN_WAIT_SECONDS: '1' });
  assert.equal(waited.status, 1);
  assert.match(waited.stderr, /services not SERVING after 1 s: labeler 127\.0\.0\.1:1/);
  const noRun = await cli(['run', '--resume', 'no-such-run'], env);
  assert.equal(noRun.status, 2);
  assert.match(noRun.stderr, /--resume: no run no-such-run/);

  const badSpec = path.join(home, 'bad.yaml');
  writeFileSync(badSpec, 'name: x\nteacher:\n  max_stepz: 10\nlabeling:\n  threshold: high\n');
  const bad = await cli(['run', badSpec], env);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /invalid spec:/);
  assert.match(bad.stderr, /teacher\.max_stepz: unknown key/);
  assert.match(bad.stderr, /labeling\.threshold: must be a number/);
});
