// Item 7 of issue 15: the outside run's faults, in one run of the loop. While the driver runs a spec, the
// teacher is killed (-9) mid-job and restarted at its address, a labeler is killed mid-stage (not
// restarted), the S3 endpoint (a process of its own) is stopped with SIGSTOP for 10 s, and the student is
// killed mid-job and restarted. Then the bucket is checked from outside: every unlabeled shard labeled
// exactly once from its current bytes, the record counts adding up, both jobs at their full step count.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadManifest, readShard } from '@selftrain/data';
import { silentLogger } from '@selftrain/logger';
import { LabelStats } from '@selftrain/proto';
import { connectServices, ProgressDisplay, runPipeline, validateSpec, type ServiceClients, type ServiceName } from '@selftrain/pipeline';
import { S3ObjectStore, type StorageConfig } from '@selftrain/storage';
import { putRunnableDataset } from './bucket-fixtures';
import { startService, type ServiceProcess } from './service-processes';

const DATASET = 'datasets/faults';
const RUN = 'faults';
const SHARDS = 12;
const PER_SHARD = 128;
const STEPS = 120;
// The student trains on more steps than the teacher: it runs ~60 steps/s here, and right after the S3
// stop one read of its status once took 6 s, long enough for a short job to end before the probe saw it.
// At this length its learning rate is lowered: at 0.05 for 2,000 steps the loss on this 2-class fixture
// went NaN in 3 runs of 8.
const STUDENT_STEPS = 1000;
const STUDENT_LEARNING_RATE = 0.02;
const KILL_AT_STEP = 40;
const CHECKPOINT_EVERY = 20;
const STOP_SECONDS = 10;
const ENV = { LOG_LEVEL: 'info', JOB_LEASE_SECONDS: '2' };

let dir: string;
let s3: ChildProcess;
let storage: StorageConfig;
let store: S3ObjectStore;
let clients: ServiceClients;
const services = new Map<string, ServiceProcess>();
let restarts = 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await sleep(50);
  }
}

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'selftrain-faults-'));
  const configFile = path.join(dir, 's3.json');
  s3 = spawn(process.execPath, [path.join(__dirname, 's3-server-process.js'), path.join(dir, 's3'), configFile], { stdio: 'ignore' });
  storage = await until('the S3 process', () => (existsSync(configFile) ? JSON.parse(readFileSync(configFile, 'utf8')) as StorageConfig : undefined), 60_000);
  store = await S3ObjectStore.connect(storage);
  await putRunnableDataset(store, DATASET, SHARDS, PER_SHARD, 32);
  const names: [string, ServiceName, number][] = [['teacher', 'teacher', 0], ['student', 'student', 0], ['evaluator', 'evaluator', 0], ['labeler-0', 'labeler', 0], ['labeler-1', 'labeler', 1]];
  const started = await Promise.all(names.map(([, name, index]) => startService(name, storage, dir, ENV, index)));
  names.forEach(([key], i) => services.set(key, started[i]));
  const at = (key: string) => services.get(key)!.address;
  clients = connectServices({ teacher: at('teacher'), student: at('student'), evaluator: at('evaluator'), labelers: [at('labeler-0'), at('labeler-1')] });
});

after(async () => {
  clients?.close();
  s3?.kill('SIGCONT');
  await Promise.all([...services.values()].map((s) => s.stop()));
  store?.close();
  if (s3 && s3.exitCode === null) {
    const gone = new Promise((r) => s3.once('exit', r));
    s3.kill('SIGTERM');
    await gone;
  }
  rmSync(dir, { recursive: true, force: true });
});

/** The step a role's running job has reached, from its status in the bucket (saved about every second). */
async function jobStep(role: 'teacher' | 'student'): Promise<number> {
  const keys = (await store.list(`jobs/${role}/`)).filter((k) => k.endsWith('.json'));
  let step = 0;
  for (const key of keys) {
    const s = await store.getJson<{ state: string; progress?: { step?: number } }>(key).catch(() => undefined);
    if (s?.state === 'JOB_STATE_RUNNING') step = Math.max(step, s.progress?.step ?? 0);
  }
  return step;
}

/** kill -9, then the same service again at the same address, as a pod behind its Service. */
async function killAndRestart(key: 'teacher' | 'student'): Promise<void> {
  const victim = services.get(key)!;
  victim.child.kill('SIGKILL');
  assert.equal((await victim.whenExited).signal, 'SIGKILL');
  const port = victim.address.split(':')[1];
  services.set(key, await startService(victim.name, storage, dir, { ...ENV, GRPC_PORT: port }, 10 + restarts++));
}

const statsKeys = async () => (await store.list(`runs/${RUN}/gen0/pseudo/`)).filter((k) => k.endsWith('.stats.json'));

test('kill -9 of teacher, labeler and student mid-work and a 10 s S3 stop, in one run: every shard labeled once from its bytes, both jobs at their full step count', async () => {
  const started = Date.now();
  const spec = validateSpec({
    name: RUN, generations: 1, dataset: { source: 'bucket', prefix: DATASET },
    teacher: { max_steps: STEPS, batch_size: 16, eval_every: 60, checkpoint_every: CHECKPOINT_EVERY, warmup_steps: 0 },
    student: { max_steps: STUDENT_STEPS, learning_rate: STUDENT_LEARNING_RATE, batch_size: 16, eval_every: 60, checkpoint_every: CHECKPOINT_EVERY, warmup_steps: 0 },
    labeling: { threshold: 0.1, concurrency: 1 },
  });
  const display = new ProgressDisplay({ write: () => true, isTTY: false } as unknown as NodeJS.WriteStream);
  const running = runPipeline(spec, { store, clients, logger: silentLogger, display, requestId: 'fault-suite' });
  let failed: unknown;
  running.catch((err: unknown) => { failed = err; });
  const notFailed = () => assert.equal(failed, undefined, `the run failed: ${String(failed)}`);

  // 1. The teacher, mid-job.
  const teacherKilledAt = await until('the teacher mid-job', async () => { notFailed(); const s = await jobStep('teacher'); return s >= KILL_AT_STEP ? s : undefined; });
  await killAndRestart('teacher');

  // 2. A labeler, once it has labeled a shard and while others are left; then the endpoint hangs for 10 s.
  const labeler0 = services.get('labeler-0')!;
  await until('labeler 0 to label a shard', () => { notFailed(); return /"msg":"labeled shard"/.test(readFileSync(labeler0.logFile, 'utf8')) || undefined; });
  labeler0.child.kill('SIGKILL');
  await labeler0.whenExited;
  const labeledAtKill = (await statsKeys()).length;
  s3.kill('SIGSTOP');
  const stoppedAt = Date.now();
  await sleep(STOP_SECONDS * 1000);
  s3.kill('SIGCONT');

  // 3. The student, mid-job.
  const studentKilledAt = await until('the student mid-job', async () => { notFailed(); const s = await jobStep('student'); return s >= KILL_AT_STEP ? s : undefined; });
  await killAndRestart('student');

  const rec = await running;
  const seconds = (Date.now() - started) / 1000;
  assert.equal(rec.state, 'succeeded', rec.error);
  assert.ok(labeledAtKill > 0 && labeledAtKill < SHARDS, `labeler 0 was killed mid-stage (${labeledAtKill} of ${SHARDS} shards labeled)`);
  assert.ok(Date.now() - stoppedAt >= STOP_SECONDS * 1000);

  // Both jobs ended at their full step count, resumed from a checkpoint taken before their kill.
  const g = rec.generations[0];
  for (const [role, train, killedAt, steps] of [['teacher', g.teacherTrain!, teacherKilledAt, STEPS], ['student', g.studentTrain!, studentKilledAt, STUDENT_STEPS]] as const) {
    assert.equal(train.steps, steps, `${role} steps`);
    // Its status said step `killedAt` (>= KILL_AT_STEP) before the kill, so a checkpoint at or past that one's interval existed.
    const floor = Math.floor(KILL_AT_STEP / CHECKPOINT_EVERY) * CHECKPOINT_EVERY;
    assert.ok(train.resumedFromStep >= floor && train.resumedFromStep < steps && train.resumedFromStep % CHECKPOINT_EVERY === 0, `${role} resumed from ${train.resumedFromStep}, killed at ${killedAt}`);
  }

  // The bucket, from outside: every unlabeled shard labeled exactly once, from its current bytes.
  const manifest = await loadManifest(store, DATASET);
  const unlabeled = manifest.splits.find((s) => s.name === 'unlabeled')!;
  const keys = await statsKeys();
  const outputs = (await store.list(`runs/${RUN}/gen0/pseudo/`)).filter((k) => k.endsWith('.tfrecord'));
  assert.equal(keys.length, SHARDS, 'one stats object per unlabeled shard');
  assert.equal(outputs.length, SHARDS, 'one pseudo-label shard per unlabeled shard, no partial output left');
  const seen = new Set<string>();
  let labeledRecords = 0;
  for (const key of keys) {
    const stats = await store.getJson<{ input: { shard: string; sha256: string; records: number }; output: { key: string; sha256: string; records: number }; labelStats: unknown }>(key);
    // Read as the labeler reads its own stats back (pseudo-shard-output.ts): protobuf JSON leaves out zero counts.
    const labelStats = LabelStats.fromJSON(stats.labelStats);
    const shard = unlabeled.shards.find((s) => s.key === stats.input.shard);
    assert.ok(shard, `${key} labels ${stats.input.shard}, not a shard of the manifest`);
    assert.ok(!seen.has(shard.key), `${shard.key} labeled twice`);
    seen.add(shard.key);
    assert.equal(stats.input.sha256, sha256(await store.get(shard.key)), `${shard.key} labeled from its current bytes`);
    assert.equal(stats.input.records, shard.records);
    assert.equal(labelStats.records, shard.records);
    assert.equal(labelStats.kept + labelStats.dropped, shard.records);
    const bytes = await store.get(stats.output.key);
    assert.equal(sha256(bytes), stats.output.sha256, `${stats.output.key} is the object its stats describe`);
    assert.equal(readShard(bytes, stats.output.key).length, stats.output.records);
    labeledRecords += labelStats.records;
  }
  assert.equal(seen.size, SHARDS);
  assert.equal(labeledRecords, SHARDS * PER_SHARD);
  assert.equal(g.labelStats?.records, SHARDS * PER_SHARD);
  assert.deepEqual(g.pseudoShards.map((s) => s.key).sort(), outputs.sort());
  console.log(`fault suite: ${seconds.toFixed(0)} s; teacher killed at step ${teacherKilledAt} (resumed from ${g.teacherTrain!.resumedFromStep}), labeler 0 killed after ${labeledAtKill}/${SHARDS} shards, S3 stopped ${STOP_SECONDS} s, student killed at step ${studentKilledAt} (resumed from ${g.studentTrain!.resumedFromStep})`);
});
