// Item 6 of issue 15: a service with every work slot taken (16 LabelShard or StartTraining calls in
// flight, the default MAX_INFLIGHT_CALLS) still answers the cheap reads, GetInfo, GetJob and WatchJob,
// while a 17th heavy call is refused. The heavy calls are held in flight by a bucket proxy that stalls
// every object under `held/` until the test lets go.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { status } from '@grpc/grpc-js';
import { GetJobRequest, LabelShardRequest, StartTeacherRequest, WatchJobRequest } from '@selftrain/proto';
import { S3ObjectStore, startEmbeddedS3, type EmbeddedS3 } from '@selftrain/storage';
import { AnswerTally } from './answer-tally';
import { startHeldBucketProxy, type HeldBucketProxy } from './held-bucket-proxy';
import { RawClient, type Answer } from './raw-client';
import { startServices, type ServiceProcess } from './service-processes';

/** MAX_INFLIGHT_CALLS's default (README, "Configuration of a service"): the services run with it. */
const WORK_LIMIT = 16;
/** Under the read limit at the default (4 x 16), so none may be refused. */
const READS = 48;
const DEADLINE_MS = 30_000;
const HELD_DATASET = 'held/dataset';

let dir: string;
let s3: EmbeddedS3;
let proxy: HeldBucketProxy;
let services: Record<string, ServiceProcess>;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'selftrain-saturation-'));
  s3 = await startEmbeddedS3({ directory: path.join(dir, 's3'), port: 0 });
  (await S3ObjectStore.connect(s3.config)).close();
  proxy = await startHeldBucketProxy(s3.config, '/held/');
  services = await startServices(proxy.config, dir, { LOG_LEVEL: 'warn' });
});

after(async () => {
  proxy?.release();
  await Promise.all(Object.values(services ?? {}).map((s) => s.stop()));
  await proxy?.close();
  await s3?.close();
  rmSync(dir, { recursive: true, force: true });
});

const enc = (bytes: Uint8Array) => Buffer.from(bytes);
const labelShard = enc(LabelShardRequest.encode(LabelShardRequest.fromPartial({
  checkpoint: 'held/teacher/model.json', dataset: HELD_DATASET, shard: `${HELD_DATASET}/unlabeled-00000-of-00001.tfrecord`, outputPrefix: 'runs/saturation/pseudo',
})).finish());
const startTeacher = (i: number) => enc(StartTeacherRequest.encode(StartTeacherRequest.fromPartial({
  jobId: `saturation-${i}`, dataset: HELD_DATASET, outputPrefix: `runs/saturation/teacher-${i}`, options: { maxSteps: 1, batchSize: 2 },
})).finish());

async function waitForHeld(n: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (proxy.held() < n) {
    assert.ok(Date.now() < deadline, `only ${proxy.held()} of ${n} bucket reads are held`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Fills the service's work slots with heavy calls held on the bucket, then sends `reads` at once and one
 * more heavy call; returns their answers. The heavy calls are left in flight for the caller to release.
 */
async function saturate(address: string, heavyPath: string, heavy: (i: number) => Buffer, reads: { path: string; payload: Buffer; stream?: boolean }[]) {
  const client = new RawClient(address);
  const held = Array.from({ length: WORK_LIMIT }, (_, i) => client.unary(heavyPath, heavy(i), DEADLINE_MS));
  await waitForHeld(WORK_LIMIT);
  const extra = await client.unary(heavyPath, heavy(WORK_LIMIT), DEADLINE_MS);
  const answers = await Promise.all(reads.map((r) => (r.stream ? client.serverStream(r.path, r.payload, DEADLINE_MS) : client.unary(r.path, r.payload, DEADLINE_MS))));
  return { client, held, extra, answers };
}

function tally(title: string, reads: { path: string }[], answers: Answer[]): AnswerTally {
  const t = new AnswerTally();
  reads.forEach((r, i) => t.add(r.path.split('/').pop()!, answers[i].code));
  console.log(`\n${t.format(title)}\n`);
  return t;
}

test(`labeler with ${WORK_LIMIT} LabelShard calls in flight: a 17th is refused, ${READS} GetInfo calls all answer`, async () => {
  const reads = Array.from({ length: READS }, () => ({ path: '/selftrain.v1.Labeler/GetInfo', payload: Buffer.alloc(0) }));
  const { client, held, extra, answers } = await saturate(services.labeler.address, '/selftrain.v1.Labeler/LabelShard', () => labelShard, reads);
  try {
    tally(`labeler saturated: ${WORK_LIMIT} LabelShard in flight`, reads, answers);
    assert.equal(status[extra.code], 'RESOURCE_EXHAUSTED', extra.details);
    assert.match(extra.details, new RegExp(`^LabelShard: ${WORK_LIMIT} calls in flight \\(limit ${WORK_LIMIT}\\); retry later$`));
    assert.deepEqual([...new Set(answers.map((a) => status[a.code]))], ['OK'], answers.find((a) => a.code !== status.OK)?.details);
    proxy.release();
    // Released, the held calls end as they deserve (nothing is in the bucket), and every slot is free again.
    assert.deepEqual([...new Set((await Promise.all(held)).map((a) => status[a.code]))], ['NOT_FOUND']);
    const again = await Promise.all(Array.from({ length: WORK_LIMIT }, () => client.unary('/selftrain.v1.Labeler/LabelShard', labelShard, DEADLINE_MS)));
    assert.deepEqual([...new Set(again.map((a) => status[a.code]))], ['NOT_FOUND']);
  } finally {
    client.close();
  }
});

test(`teacher with ${WORK_LIMIT} StartTraining calls in flight: GetInfo, GetJob and WatchJob all answer`, async () => {
  proxy.hold();
  const teacher = '/selftrain.v1.Teacher';
  const jobRead = (i: number) => enc(GetJobRequest.encode({ jobId: `no-such-job-${i}` }).finish());
  const reads = Array.from({ length: READS }, (_, i) => [
    { path: `${teacher}/GetInfo`, payload: Buffer.alloc(0) },
    { path: `${teacher}/GetJob`, payload: jobRead(i) },
    { path: `${teacher}/WatchJob`, payload: enc(WatchJobRequest.encode({ jobId: `no-such-job-${i}`, afterSeq: 0 }).finish()), stream: true },
  ][i % 3]);
  const { client, held, extra, answers } = await saturate(services.teacher.address, `${teacher}/StartTraining`, startTeacher, reads);
  try {
    const t = tally(`teacher saturated: ${WORK_LIMIT} StartTraining in flight`, reads, answers);
    assert.equal(status[extra.code], 'RESOURCE_EXHAUSTED', extra.details);
    assert.equal(t.count('GetInfo', status.OK) + t.count('GetJob', status.NOT_FOUND) + t.count('WatchJob', status.NOT_FOUND), READS,
      answers.filter((a) => a.code === status.RESOURCE_EXHAUSTED).slice(0, 1).map((a) => a.details).join());
    proxy.release();
    assert.deepEqual([...new Set((await Promise.all(held)).map((a) => status[a.code]))], ['NOT_FOUND']);
  } finally {
    client.close();
  }
});
