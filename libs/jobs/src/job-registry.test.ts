import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictError, NotFoundError, OverloadedError } from '@selftrain/errors';
import { silentLogger } from '@selftrain/logger';
import { JobState, type JobStatus, type TrainResult } from '@selftrain/proto';
import { JobRegistry } from './job-registry';

const result: TrainResult = { steps: 3, bestValTop1: 0.5, curve: [], backend: 'test', imagesPerSecond: 1, resumedFromStep: 0 };

function steps(n: number, gate?: Promise<void>) {
  return async (ctx: Parameters<Parameters<JobRegistry['start']>[2]>[0]) => {
    for (let i = 1; i <= n; i++) {
      if (gate) await gate;
      if (ctx.signal.aborted) throw ctx.signal.reason;
      ctx.progress({ step: i, totalSteps: n, loss: 1 / i, learningRate: 0.1, imagesPerSecond: 10, etaSeconds: n - i, valTop1: 0, humanLoss: 0, pseudoLoss: 0 });
      await new Promise((r) => setTimeout(r, 5));
    }
    return result;
  };
}

async function collect(reg: JobRegistry, id: string, after: number) {
  const seqs: number[] = [];
  const states: JobState[] = [];
  for await (const e of reg.watch(id, after, new AbortController().signal)) { seqs.push(e.seq); states.push(e.state); }
  return { seqs, states };
}

test('start is idempotent on job id and conflicts on a different request', async () => {
  const reg = new JobRegistry({ logger: silentLogger, maxConcurrent: 2 });
  const a = await reg.start('j1', 'digest-a', steps(3));
  const b = await reg.start('j1', 'digest-a', steps(3));
  assert.equal(a.created, true);
  assert.equal(b.created, false);
  await assert.rejects(reg.start('j1', 'digest-b', steps(3)), ConflictError);
  const { states } = await collect(reg, 'j1', 0);
  assert.equal(states.at(-1), JobState.JOB_STATE_SUCCEEDED);
  assert.equal(reg.get('j1').result?.steps, 3);
});

test('watch resumes after a sequence number with no gaps', async () => {
  const reg = new JobRegistry({ logger: silentLogger, maxConcurrent: 1 });
  await reg.start('j', 'd', steps(5));
  const all = await collect(reg, 'j', 0);
  assert.deepEqual(all.seqs, all.seqs.map((_, i) => i + 1));
  const tail = await collect(reg, 'j', 4);
  assert.deepEqual(tail.seqs, all.seqs.filter((s) => s > 4));
});

test('admission limit, cancel, not found', async () => {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const reg = new JobRegistry({ logger: silentLogger, maxConcurrent: 1 });
  await reg.start('slow', 'd', steps(100, gate));
  await assert.rejects(reg.start('other', 'd', steps(1)), OverloadedError);
  await reg.cancel('slow');
  open();
  const { states } = await collect(reg, 'slow', 0);
  assert.equal(states.at(-1), JobState.JOB_STATE_CANCELLED);
  assert.throws(() => reg.get('nope'), NotFoundError);
});

test('finished statuses are persisted and restored after a restart', async () => {
  const saved = new Map<string, JobStatus>();
  const store = { save: async (s: JobStatus) => void saved.set(s.jobId, s), load: async (id: string) => saved.get(id) };
  const reg = new JobRegistry({ logger: silentLogger, maxConcurrent: 1, store });
  await reg.start('p', 'd', steps(2));
  await collect(reg, 'p', 0);
  await new Promise((r) => setTimeout(r, 10));
  const fresh = new JobRegistry({ logger: silentLogger, maxConcurrent: 1, store });
  const status = await fresh.getOrRestore('p');
  assert.equal(status.state, JobState.JOB_STATE_SUCCEEDED);
  const again = await fresh.start('p', 'd', steps(2));
  assert.equal(again.created, false);
});

/** One bucket shared by replicas: statuses copied in and out, as JSON in S3 would be. */
function sharedStore() {
  const saved = new Map<string, JobStatus>();
  const cancels = new Set<string>();
  return {
    save: async (s: JobStatus) => void saved.set(s.jobId, structuredClone(s)),
    load: async (id: string) => (saved.has(id) ? structuredClone(saved.get(id)!) : undefined),
    requestCancel: async (id: string) => void cancels.add(id),
    cancelRequested: async (id: string) => cancels.has(id),
    clearCancel: async (id: string) => void cancels.delete(id),
  };
}

test('replicas: a job run by one is seen, watched and cancelled through another', async () => {
  const store = sharedStore();
  const a = new JobRegistry({ logger: silentLogger, maxConcurrent: 2, store, leaseMs: 300, owner: 'a' });
  const b = new JobRegistry({ logger: silentLogger, maxConcurrent: 2, store, leaseMs: 300, owner: 'b' });
  await a.start('shared', 'd', steps(40));
  await new Promise((r) => setTimeout(r, 50));
  const seen = await b.start('shared', 'd', steps(40));
  assert.equal(seen.created, false, 'B does not start a second copy');
  assert.equal(seen.status.owner, 'a');
  const { states } = await collect(b, 'shared', 0);
  assert.equal(states.at(-1), JobState.JOB_STATE_SUCCEEDED, 'B watched it to its end through the bucket');
  await a.start('long', 'd', steps(1000));
  await new Promise((r) => setTimeout(r, 50));
  await b.cancel('long');
  const end = await collect(b, 'long', 0);
  assert.equal(end.states.at(-1), JobState.JOB_STATE_CANCELLED);
  assert.match((await b.getOrRestore('long')).error, /another replica/);
});

test('replicas: two Starts that raced end with one run; the later claim yields', async () => {
  const store = sharedStore();
  let finished = 0;
  const work = (ctx: Parameters<Parameters<JobRegistry['start']>[2]>[0]) => steps(60)(ctx).then((r) => { finished += 1; return r; });
  const a = new JobRegistry({ logger: silentLogger, maxConcurrent: 1, store, leaseMs: 300, owner: 'a' });
  const b = new JobRegistry({ logger: silentLogger, maxConcurrent: 1, store, leaseMs: 300, owner: 'b' });
  const [ra, rb] = await Promise.all([a.start('race', 'd', work), b.start('race', 'd', work)]);
  assert.ok(ra.created && rb.created, 'neither saw the other yet');
  const done = await collect(a, 'race', 0).then(() => collect(b, 'race', 0));
  await new Promise((r) => setTimeout(r, 400));
  const final = await a.getOrRestore('race');
  assert.equal(final.state, JobState.JOB_STATE_SUCCEEDED);
  assert.equal(finished, 1, 'exactly one replica ran it to the end');
  assert.equal((await b.getOrRestore('race')).state, JobState.JOB_STATE_SUCCEEDED, 'the one that yielded answers from the bucket');
  assert.ok(done.states.length > 0);
});

class ProcessFault extends Error {}

test('a fault of the process under a job: FAILED but resumable and released, the others released, and a Start elsewhere resumes it', async () => {
  const store = sharedStore();
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const told: string[] = [];
  const a = new JobRegistry({
    logger: silentLogger, maxConcurrent: 2, store, owner: 'a',
    isProcessFault: (err) => err instanceof ProcessFault,
    onProcessFault: (jobId) => { told.push(jobId); void a.abandon(); },
  });
  await a.start('bystander', 'd', steps(100, gate));
  await a.start('faulty', 'd', async () => { throw new ProcessFault('memory access out of bounds'); });
  const faulty = await collect(a, 'faulty', 0);
  assert.equal(faulty.states.at(-1), JobState.JOB_STATE_FAILED);
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(told, ['faulty']);
  const saved = (await store.load('faulty'))!;
  assert.equal(saved.resumable, true);
  assert.equal(saved.owner, '');
  assert.match(saved.error, /memory access out of bounds \(the compute backend of a failed under this job; start it again/);
  // The job that was running beside it is released as SIGTERM leaves a job, and nothing more is written for it.
  const bystander = (await store.load('bystander'))!;
  assert.deepEqual([bystander.state, bystander.owner], [JobState.JOB_STATE_RUNNING, '']);
  open();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal((await store.load('bystander'))!.owner, '', 'the abandoned process wrote nothing more');
  await assert.rejects(a.start('new', 'd', steps(1)), OverloadedError);

  // Another replica: GetJob reads the failure; Start resumes both jobs.
  const b = new JobRegistry({ logger: silentLogger, maxConcurrent: 2, store, owner: 'b' });
  assert.equal((await b.getOrRestore('faulty')).state, JobState.JOB_STATE_FAILED);
  const again = await b.start('faulty', 'd', steps(2));
  assert.equal(again.created, true);
  assert.equal((await collect(b, 'faulty', 0)).states.at(-1), JobState.JOB_STATE_SUCCEEDED);
  assert.equal((await b.getOrRestore('faulty')).resumable, false);
  assert.equal((await b.start('bystander', 'd', steps(1))).created, true);
  // A job that failed on its own stays failed.
  await b.start('broken', 'd', async () => { throw new Error('bad data'); });
  await collect(b, 'broken', 0);
  const c = new JobRegistry({ logger: silentLogger, maxConcurrent: 2, store, owner: 'c' });
  assert.equal((await c.start('broken', 'd', steps(1))).created, false);
});
