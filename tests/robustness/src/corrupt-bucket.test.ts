// Item 3 of issue 15: what is in the bucket is not the service's to trust. A damaged manifest, checkpoint
// or job record is DATA_LOSS naming the object, a checkpoint that is intact but not a model the service
// can build is FAILED_PRECONDITION naming it, never INTERNAL; and the next good request on the same
// process succeeds.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { status } from '@grpc/grpc-js';
import { manifestKey } from '@selftrain/data';
import { EvaluateRequest, EvaluateResponse, GetJobRequest, LabelShardRequest, LabelShardResponse, StartTeacherRequest } from '@selftrain/proto';
import { putCheckpoint, putTinyDataset, tinyModelJson, tinyWeights } from './bucket-fixtures';
import { RawClient, type Answer } from './raw-client';
import { startRobustnessStack, type RobustnessStack } from './robustness-stack';

const DEADLINE_MS = 60_000;
const DATASET = 'datasets/tiny';
const NULL_MANIFEST_DATASET = 'datasets/null-manifest';

let stack: RobustnessStack;
let unlabeledShard: string;
let good: string;

interface BadCheckpoint { name: string; key: string; code: status; names: string }
const badCheckpoints: BadCheckpoint[] = [];

before(async () => {
  stack = await startRobustnessStack({ LOG_LEVEL: 'warn' });
  ({ unlabeledShard } = await putTinyDataset(stack.store, DATASET));
  good = await putCheckpoint(stack.store, 'ckpt/good');
  await stack.store.put(manifestKey(NULL_MANIFEST_DATASET), Buffer.from('null'), 'application/json');
  await stack.store.put('jobs/teacher/null-record.json', Buffer.from('null'), 'application/json');

  const bad = async (name: string, dir: string, code: status, names: string, json: unknown, weights = tinyWeights()) =>
    badCheckpoints.push({ name, key: await putCheckpoint(stack.store, dir, json, weights), code, names: names.replace('DIR', dir) });
  await bad('weights.bin truncated', 'ckpt/truncated', status.DATA_LOSS, 'DIR/weights.bin', tinyModelJson(), tinyWeights().subarray(0, 1000));
  await bad('model.json naming an unknown layer class', 'ckpt/unknown-layer', status.FAILED_PRECONDITION, 'DIR/model.json', tinyModelJson({ layerClass: 'NoSuchLayer' }));
  await bad('weights of an unsupported dtype', 'ckpt/float64', status.FAILED_PRECONDITION, 'DIR/model.json', tinyModelJson({ kernelDtype: 'float64' }));
  await bad('model.json that is JSON null', 'ckpt/null', status.DATA_LOSS, 'DIR/model.json', null);
  await bad('model.json without a weightsManifest', 'ckpt/no-manifest', status.DATA_LOSS, 'DIR/model.json', { ...tinyModelJson(), weightsManifest: undefined });
  // Not JSON at all: half a document, as a copy cut short leaves it.
  const cut = await putCheckpoint(stack.store, 'ckpt/cut');
  await stack.store.put(cut, Buffer.from(JSON.stringify(tinyModelJson()).slice(0, 100)), 'application/json');
  badCheckpoints.push({ name: 'model.json cut short', key: cut, code: status.DATA_LOSS, names: cut });
});

after(async () => {
  await stack?.close();
});

async function unary(address: string, path: string, payload: Uint8Array): Promise<Answer> {
  const client = new RawClient(address);
  try {
    return await client.unary(path, Buffer.from(payload), DEADLINE_MS);
  } finally {
    client.close();
  }
}

const evaluate = (checkpoint: string, dataset = DATASET) =>
  unary(stack.services.evaluator.address, '/selftrain.v1.Evaluator/Evaluate', EvaluateRequest.encode(EvaluateRequest.fromPartial({ checkpoint, dataset, split: 'test' })).finish());

const labelShard = (checkpoint: string, dataset = DATASET, shard = unlabeledShard) =>
  unary(stack.services.labeler.address, '/selftrain.v1.Labeler/LabelShard', LabelShardRequest.encode(LabelShardRequest.fromPartial({
    checkpoint, dataset, shard, outputPrefix: 'runs/corrupt-bucket/pseudo',
  })).finish());

const describe = (a: Answer) => `${status[a.code]} "${a.details}"`;

async function assertGoodRequestsSucceed(after: string): Promise<void> {
  const evaluated = await evaluate(good);
  assert.equal(evaluated.code, status.OK, `Evaluate after ${after}: ${describe(evaluated)}`);
  assert.equal(EvaluateResponse.decode(evaluated.response!).count, 4);
  const labeled = await labelShard(good);
  assert.equal(labeled.code, status.OK, `LabelShard after ${after}: ${describe(labeled)}`);
  assert.equal(LabelShardResponse.decode(labeled.response!).labelStats?.records, 4);
}

test('the tiny dataset and checkpoint written from outside are evaluated and labeled', async () => {
  await assertGoodRequestsSucceed('nothing');
});

test('a damaged or unsupported checkpoint: Evaluate and LabelShard answer DATA_LOSS or FAILED_PRECONDITION naming the object, then serve the next request', async () => {
  for (const bad of badCheckpoints) {
    for (const [rpc, answer] of [['Evaluate', await evaluate(bad.key)], ['LabelShard', await labelShard(bad.key)]] as const) {
      assert.equal(status[answer.code], status[bad.code], `${rpc} on ${bad.name}: ${describe(answer)}`);
      assert.ok(answer.details.includes(bad.names), `${rpc} on ${bad.name} does not name ${bad.names}: ${answer.details}`);
    }
    await assertGoodRequestsSucceed(bad.name);
  }
});

test('a manifest that is JSON null is DATA_LOSS naming it, for every service that reads it', async () => {
  const key = manifestKey(NULL_MANIFEST_DATASET);
  const start = await unary(stack.services.teacher.address, '/selftrain.v1.Teacher/StartTraining', StartTeacherRequest.encode(StartTeacherRequest.fromPartial({
    jobId: 'null-manifest', dataset: NULL_MANIFEST_DATASET, outputPrefix: 'runs/corrupt-bucket/teacher', options: { maxSteps: 1, batchSize: 2 },
  })).finish());
  const answers = [
    ['Evaluate', await evaluate(good, NULL_MANIFEST_DATASET)],
    ['LabelShard', await labelShard(good, NULL_MANIFEST_DATASET, `${NULL_MANIFEST_DATASET}/unlabeled-00000-of-00001.tfrecord`)],
    ['StartTraining', start],
  ] as const;
  for (const [rpc, answer] of answers) {
    assert.equal(status[answer.code], status[status.DATA_LOSS], `${rpc}: ${describe(answer)}`);
    assert.ok(answer.details.includes(key), `${rpc} does not name ${key}: ${answer.details}`);
  }
  await assertGoodRequestsSucceed('the null manifest');
});

test('a job record that is JSON null is DATA_LOSS naming it', async () => {
  const answer = await unary(stack.services.teacher.address, '/selftrain.v1.Teacher/GetJob', GetJobRequest.encode({ jobId: 'null-record' }).finish());
  assert.equal(status[answer.code], status[status.DATA_LOSS], describe(answer));
  assert.match(answer.details, /jobs\/teacher\/null-record\.json/);
});

test('no process logged an internal error, and every one is still up', () => {
  for (const svc of Object.values(stack.services)) {
    assert.equal(svc.exited(), undefined, `${svc.name} exited; see ${svc.logFile}`);
    const errors = readFileSync(svc.logFile, 'utf8').split('\n').filter((l) => /"level":50/.test(l));
    assert.deepEqual(errors.slice(0, 3), [], `${svc.name} logged errors`);
  }
});
