// Item 2 of issue 15: the labeler does not trust its input shard. The shard's bytes must have the
// sha256 and the record count its manifest lists, as the evaluator and the student already require;
// anything else is DATA_LOSS naming the shard, nothing is written, and the next good call succeeds.
// A run over a dataset whose shard 0 was overwritten with shard 1's bytes stops at labeling, and the
// driver's pre-student check rests on what the labeler verified, not on what the manifest asserts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { status } from '@grpc/grpc-js';
import { writeShard } from '@selftrain/data';
import { silentLogger } from '@selftrain/logger';
import { connectServices, loadRunRecord, ProgressDisplay, runPipeline, validateSpec } from '@selftrain/pipeline';
import { LabelShardRequest, LabelShardResponse, type Shard } from '@selftrain/proto';
import { RpcError } from '@selftrain/rpc';
import { putCheckpoint, putManifest, putRunnableDataset, putShard, putTinyDataset } from './bucket-fixtures';
import { RawClient, type Answer } from './raw-client';
import { startRobustnessStack, type RobustnessStack } from './robustness-stack';

const DEADLINE_MS = 60_000;
const GOOD_DATASET = 'datasets/input-good';

let stack: RobustnessStack;
let checkpoint: string;
let goodShard: string;

before(async () => {
  stack = await startRobustnessStack({ LOG_LEVEL: 'warn' });
  ({ unlabeledShard: goodShard } = await putTinyDataset(stack.store, GOOD_DATASET));
  checkpoint = await putCheckpoint(stack.store, 'ckpt/input-checks');
});

after(async () => {
  await stack?.close();
});

async function labelShard(dataset: string, shard: string, outputPrefix: string): Promise<Answer> {
  const client = new RawClient(stack.services.labeler.address);
  try {
    const request = LabelShardRequest.fromPartial({ checkpoint, dataset, shard, outputPrefix });
    return await client.unary('/selftrain.v1.Labeler/LabelShard', Buffer.from(LabelShardRequest.encode(request).finish()), DEADLINE_MS);
  } finally {
    client.close();
  }
}

const describe = (a: Answer) => `${status[a.code]} "${a.details}"`;

/** A dataset whose one unlabeled shard is listed by `listed` while the object holds `bytes`. */
async function putDamaged(prefix: string, bytes: Buffer, listed: (key: string) => Partial<Shard>): Promise<string> {
  const key = `${prefix}/unlabeled-00000-of-00001.tfrecord`;
  await stack.store.put(key, bytes);
  const truth = await stack.store.stat(key);
  const test = await putShard(stack.store, `${prefix}/test-00000-of-00001.tfrecord`, 'test', 4, true);
  await putManifest(stack.store, prefix, [
    { name: 'test', labeled: true, shards: [test] },
    { name: 'unlabeled', labeled: false, shards: [{ key, records: 4, sha256: truth!.sha256, sizeBytes: truth!.sizeBytes, ...listed(key) }] },
  ]);
  return key;
}

const recordsOf = (split: string, n: number) =>
  writeShard(Array.from({ length: n }, (_, i) => ({ key: `${split}-${i}`, image: new Uint8Array(28 * 28).fill(i), height: 28, width: 28, channels: 1 })));
const sha256Of = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('the good shard is labeled, and the reply carries the digest and record count the labeler verified', async () => {
  const answer = await labelShard(GOOD_DATASET, goodShard, 'runs/input-checks/good');
  assert.equal(answer.code, status.OK, describe(answer));
  const res = LabelShardResponse.decode(answer.response!);
  const stat = await stack.store.stat(goodShard);
  assert.deepEqual(res.input, { key: goodShard, records: 4, sha256: stat!.sha256, sizeBytes: stat!.sizeBytes });
  // Reused: the same vouching, from the stats the first call wrote.
  const again = LabelShardResponse.decode((await labelShard(GOOD_DATASET, goodShard, 'runs/input-checks/good')).response!);
  assert.equal(again.reused, true);
  assert.deepEqual(again.input, res.input);
  const stats = await stack.store.getJson<{ input: object }>(res.stats!.key);
  assert.deepEqual(stats.input, { shard: goodShard, sha256: stat!.sha256, records: 4, sizeBytes: stat!.sizeBytes });
});

const cases: { name: string; prefix: string; make: (prefix: string) => Promise<string>; says: RegExp }[] = [
  {
    name: 'an empty shard (its manifest lists 4 records and their digest)', prefix: 'datasets/input-empty', says: /sha256 e3b0c442\w+ does not match/,
    make: (prefix) => putDamaged(prefix, Buffer.alloc(0), () => ({ sha256: sha256Of(recordsOf('unlabeled', 4)) })),
  },
  {
    name: 'an empty shard whose manifest has its digest but says 512 records', prefix: 'datasets/input-empty-512', says: /0 records, the manifest says 512/,
    make: (prefix) => putDamaged(prefix, Buffer.alloc(0), () => ({ records: 512 })),
  },
  {
    name: 'a 100-record shard whose manifest says 512 (digest right)', prefix: 'datasets/input-100-of-512', says: /100 records, the manifest says 512/,
    make: (prefix) => putDamaged(prefix, recordsOf('unlabeled', 100), () => ({ records: 512 })),
  },
  {
    name: 'a 100-record shard whose manifest says 512 and lists other bytes', prefix: 'datasets/input-100-other', says: /sha256 \w+ does not match the manifest's/,
    make: (prefix) => putDamaged(prefix, recordsOf('unlabeled', 100), () => ({ records: 512, sha256: sha256Of(recordsOf('unlabeled', 512)) })),
  },
  {
    name: 'a well-formed shard whose bytes do not match the manifest\'s sha256', prefix: 'datasets/input-other-bytes', says: /sha256 \w+ does not match the manifest's/,
    make: (prefix) => putDamaged(prefix, recordsOf('other', 4), () => ({ sha256: sha256Of(recordsOf('unlabeled', 4)) })),
  },
];

for (const c of cases) {
  test(`${c.name}: DATA_LOSS naming the shard, nothing written, and the next good call succeeds`, async () => {
    const shard = await c.make(c.prefix);
    const out = `runs/input-checks/${c.prefix.split('/').pop()}`;
    const answer = await labelShard(c.prefix, shard, out);
    assert.equal(status[answer.code], status[status.DATA_LOSS], describe(answer));
    assert.ok(answer.details.includes(shard), `does not name ${shard}: ${answer.details}`);
    assert.match(answer.details, c.says);
    assert.deepEqual(await stack.store.list(out), [], 'a pseudo-label or stats object was written');
    const good = await labelShard(GOOD_DATASET, goodShard, `${out}-good`);
    assert.equal(good.code, status.OK, `the next good call: ${describe(good)}`);
  });
}

test('a run over a dataset whose shard 0 was overwritten with shard 1\'s bytes stops at labeling, naming shard 0; no student starts', async () => {
  const prefix = 'datasets/input-swapped';
  const { unlabeled } = await putRunnableDataset(stack.store, prefix, 2, 6);
  await stack.store.put(unlabeled[0].key, await stack.store.get(unlabeled[1].key));
  const spec = validateSpec({
    name: 'input-swapped', generations: 1, dataset: { source: 'bucket', prefix },
    teacher: { max_steps: 2, batch_size: 4, eval_every: 2, checkpoint_every: 2, warmup_steps: 0 },
    student: { max_steps: 2, batch_size: 4, eval_every: 2, checkpoint_every: 2, warmup_steps: 0 },
    labeling: { threshold: 0.1, concurrency: 1 },
  });
  const { services } = stack;
  const clients = connectServices({ teacher: services.teacher.address, student: services.student.address, evaluator: services.evaluator.address, labelers: [services.labeler.address] });
  const display = new ProgressDisplay({ write: () => true, isTTY: false } as unknown as NodeJS.WriteStream);
  try {
    await assert.rejects(runPipeline(spec, { store: stack.store, clients, logger: silentLogger, display, requestId: 'input-swapped' }),
      (e: unknown) => e instanceof RpcError && e.code === status.DATA_LOSS && e.message.includes(unlabeled[0].key) && /sha256/.test(e.message));
  } finally {
    clients.close();
  }
  const record = (await loadRunRecord(stack.store, 'input-swapped'))!;
  const g = record.generations[0];
  assert.equal(g.teacher?.state, 'succeeded');
  assert.equal(g.labeling?.state, 'failed');
  assert.ok(g.labeling?.error.includes(unlabeled[0].key), g.labeling?.error);
  assert.equal(g.student?.state, 'pending');
  // No pseudo-labels of shard 0 exist: nothing of shard 1's images went out under shard 0's name.
  const statsKeys = (await stack.store.list('runs/input-swapped/gen0/pseudo')).filter((k) => k.endsWith('.stats.json'));
  for (const key of statsKeys) {
    const stats = await stack.store.getJson<{ input: { shard: string } }>(key);
    assert.notEqual(stats.input.shard, unlabeled[0].key, `${key} labels shard 0`);
  }
});

test('no process logged an internal error, and every one is still up', () => {
  for (const svc of Object.values(stack.services)) {
    assert.equal(svc.exited(), undefined, `${svc.name} exited; see ${svc.logFile}`);
    const errors = readFileSync(svc.logFile, 'utf8').split('\n').filter((l) => /"level":50/.test(l));
    assert.deepEqual(errors.slice(0, 3), [], `${svc.name} logged errors`);
  }
});
