// The CLI against real services: `run` a tiny spec on remote services configured as the pipeline Job is
// (addresses, CA and token from the environment), then `status`, `--resume` (nothing redone), and the
// errors a user meets (a bad spec, a missing run, a labeler that never comes up).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { silentLogger } from '@selftrain/logger';
import { startLocalStack, type LocalStack } from '@selftrain/pipeline';
import { makeTestPki } from '@selftrain/rpc';
import { openTestBucket, runCli, type TestBucket } from './testing/cli-harness';

const TOKEN = 'cli-integration-token-3e8b1d';
let bucket: TestBucket;
let stack: LocalStack;
let remote: NodeJS.ProcessEnv;

before(async () => {
  bucket = await openTestBucket('cli');
  const { home } = bucket;
  const pki = makeTestPki(path.join(home, 'tls'));
  const tokenFile = path.join(home, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  stack = await startLocalStack({
    home, labelers: 1, logger: silentLogger, storage: bucket.s3.config,
    serviceEnv: { GRPC_TLS_CERT_FILE: pki.files.serverCert, GRPC_TLS_KEY_FILE: pki.files.serverKey, GRPC_AUTH_TOKEN_FILE: tokenFile, HEALTH_PORT: '0', METRICS_PORT: '0' },
  });
  remote = {
    ...bucket.env, SELFTRAIN_TEACHER: stack.addresses.teacher, SELFTRAIN_STUDENT: stack.addresses.student, SELFTRAIN_EVALUATOR: stack.addresses.evaluator,
    SELFTRAIN_LABELERS: stack.addresses.labelers.join(','), GRPC_TLS_CA_FILE: path.join(home, 'tls', 'ca.crt'), GRPC_AUTH_TOKEN_FILE: tokenFile,
  };
});

after(async () => {
  await stack?.stop();
  await bucket?.close();
});

const cli = (args: string[], env: NodeJS.ProcessEnv) => runCli(args, env);

test('run, status, run --resume (nothing redone); a bad spec exits 2 naming the key; missing runs and services are named', async () => {
  const train = { max_steps: 10, eval_every: 10, checkpoint_every: 10, batch_size: 16, warmup_steps: 2, width: 1 };
  const specFile = path.join(bucket.home, 'cli-tiny.json');
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

  const status = await cli(['status', 'cli-tiny'], bucket.env);
  assert.equal(status.status, 0, status.stderr);
  assert.match(status.stdout, /run cli-tiny: succeeded/);
  assert.match(status.stdout, /gen 0 labeling\s+succeeded/);
  const json = await cli(['status', 'cli-tiny', '--json'], { ...bucket.env, LOG_LEVEL: 'debug' });
  assert.equal(json.status, 0, json.stderr);
  const record = JSON.parse(json.stdout) as { runId: string; generations: { student: { startedAt: string } }[] };
  assert.equal(record.runId, 'cli-tiny');

  // --resume takes the spec from the run record; every stage is already done, so nothing is redone.
  const resumed = await cli(['run', '--resume', 'cli-tiny'], remote);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stdout, /run cli-tiny succeeded/);
  const after = await bucket.store.getJson<{ generations: { student: { startedAt: string } }[] }>('runs/cli-tiny/run.json');
  assert.equal(after.generations[0].student.startedAt, record.generations[0].student.startedAt, 'the finished student was not retrained');

  // A labeler that never comes up: the run waits SELFTRAIN_WAIT_SECONDS, then says which service is missing.
  const waited = await cli(['run', '--resume', 'cli-tiny'], { ...remote, SELFTRAIN_LABELERS: '127.0.0.1:1', SELFTRAIN_WAIT_SECONDS: '1' });
  assert.equal(waited.status, 1);
  assert.match(waited.stderr, /services not SERVING after 1 s: labeler 127\.0\.0\.1:1/);
  const noRun = await cli(['run', '--resume', 'no-such-run'], bucket.env);
  assert.equal(noRun.status, 2);
  assert.match(noRun.stderr, /--resume: no run no-such-run/);

  const badSpec = path.join(bucket.home, 'bad.yaml');
  writeFileSync(badSpec, 'name: x\nteacher:\n  max_stepz: 10\nlabeling:\n  threshold: high\n');
  const bad = await cli(['run', badSpec], bucket.env);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /invalid spec:/);
  assert.match(bad.stderr, /teacher\.max_stepz: unknown key/);
  assert.match(bad.stderr, /labeling\.threshold: must be a number/);
});

// Four CIFAR-10 test JPEGs (32x32), kept in libs/data for its decoder tests.
const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'libs', 'data', 'fixtures', 'cifar10');

test('run --teacher-only: a spec that keeps every label trains and scores the teacher only; without the flag it is refused', async () => {
  const folder = path.join(bucket.home, 'all-labeled');
  for (const cls of ['cat', 'ship']) {
    mkdirSync(path.join(folder, cls), { recursive: true });
    for (const n of ['airplane-0000', 'cat-0001', 'frog-0003', 'ship-0002']) writeFileSync(path.join(folder, cls, `${n}.jpg`), readFileSync(path.join(FIXTURES, `${n}.jpg`)));
  }
  const train = { max_steps: 4, eval_every: 4, checkpoint_every: 4, batch_size: 4, warmup_steps: 1, width: 0.25 };
  const specFile = path.join(bucket.home, 'ceiling.json');
  // Three labels and one validation image per class: the folder's every image, no unlabeled pool.
  writeFileSync(specFile, JSON.stringify({ name: 'ceiling-tiny', dataset: { source: 'images', labeled: folder, test: folder, labels_per_class: 3, val_per_class: 1 }, teacher: train, student: train }));
  const refused = await cli(['run', specFile], remote);
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(refused.stderr, /dataset\.unlabeled: dataset datasets\/images-[0-9a-f]+ has no unlabeled images/);

  const run = await cli(['run', specFile, '--teacher-only'], remote);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /run ceiling-tiny partial/);
  const record = await bucket.store.getJson<{ generations: { teacherEval?: { count: number }; labeling: { state: string } }[] }>('runs/ceiling-tiny/run.json');
  assert.equal(record.generations[0].teacherEval?.count, 8, 'the teacher was scored on the 8 test images');
  assert.notEqual(record.generations[0].labeling.state, 'succeeded', 'nothing was pseudo-labeled');
});
