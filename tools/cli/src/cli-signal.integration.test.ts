// `selftrain run` on the services it starts itself, stopped by a SIGTERM to the CLI process alone (as
// `kill` or a job runner sends it): the services go down with it instead of running on as orphans, and the
// CLI exits 143.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { openTestBucket, type TestBucket } from './testing/cli-harness';

let bucket: TestBucket | undefined;
let services: number[] = [];
let cli: ChildProcess | undefined;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

after(async () => {
  if (cli?.exitCode === null) cli.kill('SIGKILL');
  for (const pid of services.filter(alive)) process.kill(pid, 'SIGKILL');
  await bucket?.close();
});

async function until(what: string, ok: () => boolean | Promise<boolean>, seconds: number): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('SIGTERM to `selftrain run` stops the local services it started, and the CLI exits 143', async () => {
  bucket = await openTestBucket('signal');
  const specFile = path.join(bucket.home, 'long.json');
  const train = { max_steps: 100_000, eval_every: 1000, checkpoint_every: 1000, batch_size: 16, warmup_steps: 2, width: 1 };
  writeFileSync(specFile, JSON.stringify({
    name: 'signal', generations: 1,
    dataset: { prefix: 'datasets/fmnist-signal', limit_train: 600, limit_test: 200, labels_per_class: 10, val_per_class: 5, shard_size: 300 },
    teacher: train, student: train,
  }));
  const child = cli = spawn(process.execPath, [path.resolve(__dirname, 'cli.js'), 'run', specFile], { env: bucket.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ports = ['teacher-0', 'student-0', 'evaluator-0', 'labeler-0', 'labeler-1'].map((s) => path.join(bucket!.home, 'services', `${s}.port`));
  await until('the services', () => {
    if (child.exitCode !== null) throw new Error(`the CLI exited ${child.exitCode}: ${stderr.slice(-1000)}`);
    return ports.every((p) => existsSync(p) && readFileSync(p, 'utf8') !== '');
  }, 180);
  // The teacher is training (its progress line is out) before the signal: a real mid-run stop.
  await until('the teacher training', () => {
    if (child.exitCode !== null) throw new Error(`the CLI exited ${child.exitCode}: ${stderr.slice(-1000)}`);
    return /gen 0 teacher: .*\(\d+\/100000\)/.test(stderr);
  }, 300);
  services = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
  assert.equal(services.length, 5, `the CLI's children (teacher, student, evaluator, two labelers): ${services.join(' ')}`);
  child.kill('SIGTERM');
  assert.equal(await exited, 143, stderr.slice(-2000));
  assert.match(stderr, /SIGTERM: stopping the local services/);
  assert.deepEqual(services.filter(alive), [], 'no service outlives the CLI');
});
