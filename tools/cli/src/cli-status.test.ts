// `selftrain status` and `--help` in a child process: what they print, where (answer on stdout, logs on
// stderr), and that they never load TF.js.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { saveRunRecord } from '@selftrain/pipeline/records';
import { RunRecord } from '@selftrain/proto';
import { openTestBucket, runCli, runNode, type TestBucket } from './testing/cli-harness';

let bucket: TestBucket;
let hook: string;

before(async () => {
  bucket = await openTestBucket('status');
  const { store } = bucket;
  const stage = (seconds: number) => ({ state: 'succeeded', seconds, outputs: [{ key: `runs/done/gen-0/out-${seconds}`, sha256: '', sizeBytes: 1 }] });
  await saveRunRecord(store, RunRecord.fromPartial({
    runId: 'done', dataset: 'datasets/d', state: 'succeeded',
    generations: [{ index: 0, teacher: stage(12), labeling: stage(3), student: stage(40), evaluation: stage(2) }],
  }));
  // Preloaded into the child: on exit, names every @tensorflow module it loaded (none is the answer).
  hook = path.join(bucket.home, 'loaded-modules.cjs');
  writeFileSync(hook, `process.on('exit', () => {
  const tf = Object.keys(require.cache).filter((k) => k.includes('${path.sep}@tensorflow${path.sep}'));
  process.stderr.write('\\nloaded modules: ' + Object.keys(require.cache).length + ', @tensorflow: ' + tf.length + '\\n');
});
`);
});

after(() => bucket.close());

const cli = (args: string[], extraEnv: Record<string, string> = {}) => runCli(args, { ...bucket.env, ...extraEnv }, ['--require', hook]);
const tfjsLoaded = (stderr: string) => Number(/@tensorflow: (\d+)/.exec(stderr)?.[1] ?? NaN);

test('the hook sees TF.js when a process loads it (the check below can fail)', async () => {
  const r = await runNode(['--require', hook, '-e', `require(${JSON.stringify('@tensorflow/tfjs')})`], bucket.env);
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
  for (const args of [['--help'], ['help'], ['-h'], []]) {
    const r = await cli(args);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /usage:\n {2}selftrain run/);
    assert.match(r.stderr, /selftrain ingest images --labeled DIR/);
    assert.equal(r.stdout, '');
    assert.equal(tfjsLoaded(r.stderr), 0, `${args.join(' ')}: ${r.stderr}`);
  }
  // Each command's own help, whatever else is on the line (even a flag it does not know).
  for (const [args, first] of [[['status', '--help'], 'status'], [['status', 'done', '-h'], 'status'], [['show', '--bogus', '--help'], 'show'], [['ingest', 'images', '--help'], 'ingest images'], [['ingest', '--help'], 'ingest SOURCE']] as const) {
    const r = await cli([...args]);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^usage:\\n {2}selftrain ${first}`), args.join(' '));
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
