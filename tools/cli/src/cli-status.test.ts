// `selftrain status` and `--help` in a child process: what they print, where (answer on stdout, logs on
// stderr), and that they never load TF.js.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { saveRunRecord } from '@selftrain/pipeline/records';
import { RunRecord } from '@selftrain/proto';
import { S3ObjectStore, startEmbeddedS3, type EmbeddedS3 } from '@selftrain/storage';

let home: string;
let s3: EmbeddedS3;
let store: S3ObjectStore;
let hook: string;

before(async () => {
  home = mkdtempSync(path.join(tmpdir(), 'selftrain-status-'));
  s3 = await startEmbeddedS3({ directory: path.join(home, 's3'), port: 0 });
  store = await S3ObjectStore.connect({ ...s3.config, createBucket: true });
  const stage = (seconds: number) => ({ state: 'succeeded', seconds, outputs: [{ key: `runs/done/gen-0/out-${seconds}`, sha256: '', sizeBytes: 1 }] });
  await saveRunRecord(store, RunRecord.fromPartial({
    runId: 'done', dataset: 'datasets/d', state: 'succeeded',
    generations: [{ index: 0, teacher: stage(12), labeling: stage(3), student: stage(40), evaluation: stage(2) }],
  }));
  // Preloaded into the child: on exit, names every @tensorflow module it loaded (none is the answer).
  hook = path.join(home, 'loaded-modules.cjs');
  writeFileSync(hook, `process.on('exit', () => {
  const tf = Object.keys(require.cache).filter((k) => k.includes('${path.sep}@tensorflow${path.sep}'));
  process.stderr.write('\\nloaded modules: ' + Object.keys(require.cache).length + ', @tensorflow: ' + tf.length + '\\n');
});
`);
});

after(async () => {
  store.close();
  await s3.close();
  rmSync(home, { recursive: true, force: true });
});

// Asynchronous: the S3 server the CLI talks to runs in this process and must keep answering.
function node(args: string[], extraEnv: Record<string, string> = {}): Promise<{ status: number; stdout: string; stderr: string }> {
  const c = s3.config;
  const env = { ...process.env, SELFTRAIN_HOME: home, S3_ENDPOINT: `http://${c.endPoint}:${c.port}`, S3_BUCKET: c.bucket, S3_ACCESS_KEY: c.accessKey, S3_SECRET_KEY: c.secretKey, ...extraEnv };
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ status: code, stdout, stderr });
    });
  });
}
const cli = (args: string[], extraEnv?: Record<string, string>) => node(['--require', hook, path.resolve(__dirname, 'cli.js'), ...args], extraEnv);
const tfjsLoaded = (stderr: string) => Number(/@tensorflow: (\d+)/.exec(stderr)?.[1] ?? NaN);

test('the hook sees TF.js when a process loads it (the check below can fail)', async () => {
  const r = await node(['--require', hook, '-e', `require(${JSON.stringify('@tensorflow/tfjs')})`]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(tfjsLoaded(r.stderr) > 0, r.stderr);
});

test('status RUN prints the stages and the results table, without loading TF.js', async () => {
  const r = await cli(['status', 'done']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /run done: succeeded/);
  assert.match(r.stdout, /gen 0 student\s+succeeded 40 s runs\/done\/gen-0\/out-40/);
  assert.match(r.stdout, /\| gen \|/);
  assert.equal(tfjsLoaded(r.stderr), 0, r.stderr);
});

test('status RUN --json: stdout is the record as JSON alone, logs go to stderr', async () => {
  // LOG_LEVEL=debug: the store logs as it connects, and none of it may reach stdout.
  const r = await cli(['status', 'done', '--json'], { LOG_LEVEL: 'debug' });
  assert.equal(r.status, 0, r.stderr);
  const parsed = JSON.parse(r.stdout) as { runId: string; generations: { student: { seconds: number } }[] };
  assert.equal(parsed.runId, 'done');
  assert.equal(parsed.generations[0].student.seconds, 40);
  assert.match(r.stderr, /^\{"level":30,.*"service":"selftrain".*"msg":"storage: connected"/m, "the store's log line is on stderr");
  assert.equal(tfjsLoaded(r.stderr), 0, r.stderr);
});

test('--help, help and COMMAND --help print the usage without loading TF.js; an unknown command exits 2', async () => {
  for (const args of [['--help'], ['help'], ['status', '--help'], ['run', '--help'], []]) {
    const r = await cli(args);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /usage:\n {2}selftrain run/);
    assert.equal(r.stdout, '');
    assert.equal(tfjsLoaded(r.stderr), 0, `${args.join(' ')}: ${r.stderr}`);
  }
  const unknown = await cli(['frobnicate']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /usage:/);
  const proto = await cli(['toString']);
  assert.equal(proto.status, 2, 'a name on Object.prototype is not a command');
});

test('status: no run id exits 2, an unknown run exits 1 naming it', async () => {
  const none = await cli(['status']);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /RUN: give the run id/);
  const missing = await cli(['status', 'no-such-run']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no run no-such-run/);
});
