// A stock TF.js model as a run's init, on real parts: the embedded S3 server and the teacher and evaluator
// services as processes, real Fashion-MNIST images. The model is a checkpoint trained on another label
// space (the 4 coarse groups), exported by `exportStockTfjs` (libs/export), then read from a folder, from
// s3:// and from a web server on loopback.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { ingestFashionMnist } from '@selftrain/data';
import { InputError, NotFoundError } from '@selftrain/errors';
import { exportCheckpoint } from '@selftrain/export';
import { silentLogger } from '@selftrain/logger';
import {
  connectServices, followJob, ProgressDisplay, runPipeline, serviceEnvironment, stageInitModel, startServiceProcess, validateSpec, type ServiceClients,
} from '@selftrain/pipeline';
import { JobState, StartTeacherRequest, type StartJobResponse } from '@selftrain/proto';
import { call } from '@selftrain/rpc';
import { loadModelFromBucket, tfjsModelDigest } from '@selftrain/storage';
import { openTestBucket, runCli, type TestBucket } from './testing/cli-harness';

let bucket: TestBucket;
let services: { address: string; child: ChildProcess; log: string }[] = [];
let clients: ServiceClients;
let web: Server;
let webBase: string;
/** The coarse teacher's checkpoint, and its stock export in a folder. */
let source: string;
let stockDir: string;

const quiet = new ProgressDisplay({ write: () => true, isTTY: false } as unknown as NodeJS.WriteStream);
const FIELD = 'teacher.init_checkpoint';

before(async () => {
  bucket = await openTestBucket('init');
  const runDir = path.join(bucket.home, 'services');
  mkdirSync(runDir, { recursive: true });
  const env = serviceEnvironment(bucket.s3.config, { LOG_LEVEL: 'info' });
  services = await Promise.all((['teacher', 'evaluator'] as const).map((name) => startServiceProcess(name, env, runDir, silentLogger)));
  const [teacher, evaluator] = services;
  clients = connectServices({ teacher: teacher.address, student: teacher.address, evaluator: evaluator.address, labelers: [] });

  // Another label space: the same images under 4 groups.
  await ingestFashionMnist(bucket.store, { prefix: 'datasets/coarse', labelSpace: 'coarse', limitTrain: 600, limitTest: 100, labelsPerClass: 20, valPerClass: 5, shardSize: 300 });
  const started = await call<StartTeacherRequest, StartJobResponse>(clients.teacher, clients.teacher.startTraining as never, 'StartTraining', StartTeacherRequest.fromPartial({
    jobId: 'coarse', dataset: 'datasets/coarse', outputPrefix: 'runs/coarse/teacher',
    options: { maxSteps: 30, evalEvery: 30, checkpointEvery: 30, batchSize: 16, warmupSteps: 2 },
  }));
  const coarse = await followJob(clients.teacher, started, () => {}, { requestId: 'init-coarse' });
  assert.equal(coarse.state, JobState.JOB_STATE_SUCCEEDED, coarse.error);
  source = coarse.result!.bestCheckpoint!.key;
  stockDir = path.join(bucket.home, 'stock');
  mkdirSync(stockDir);
  for (const f of (await exportCheckpoint(bucket.store, source, 'tfjs')).files) writeFileSync(path.join(stockDir, f.name), f.bytes);

  // Any folder served over HTTP on loopback (a 404 for what is not there).
  web = createServer((req, res) => {
    try {
      res.end(readFileSync(path.join(bucket.home, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname))));
    } catch {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  webBase = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
});

after(async () => {
  clients?.close();
  web?.close();
  await Promise.all(services.map(({ child }) => new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  })));
  await bucket?.close();
});

test('a stock TF.js model from a folder, s3:// and a URL is copied into the bucket once, under its digest', async () => {
  const files = ['model.json', 'weights.bin'].map((p) => ({ path: p, bytes: readFileSync(path.join(stockDir, p)) }));
  const digest = tfjsModelDigest(files);
  const fromPath = await stageInitModel(bucket.store, stockDir, FIELD);
  assert.deepEqual(fromPath, { key: `inits/${digest}/model.json`, source: path.join(stockDir, 'model.json') });
  assert.deepEqual(await bucket.store.list(`inits/${digest}/`), [`inits/${digest}/model.json`, `inits/${digest}/weights.bin`]);
  assert.deepEqual(await bucket.store.get(`inits/${digest}/weights.bin`), files[1].bytes);

  for (const f of files) await bucket.store.put(`uploads/stock/${f.path}`, f.bytes);
  const fromS3 = await stageInitModel(bucket.store, `s3://${bucket.store.bucket}/uploads/stock/model.json`, FIELD);
  assert.deepEqual(fromS3, { key: fromPath!.key, source: `s3://${bucket.store.bucket}/uploads/stock/model.json` });
  // Another bucket of the endpoint needs a way to open it (the CLI gives one).
  await assert.rejects(stageInitModel(bucket.store, 's3://other/stock/model.json', FIELD), (e: unknown) => e instanceof InputError && e.field === FIELD && /not the run's bucket/.test(e.message));

  const fromUrl = await stageInitModel(bucket.store, `${webBase}/stock/model.json?token=secret`, FIELD);
  assert.deepEqual(fromUrl, { key: fromPath!.key, source: `${webBase}/stock/model.json?...` }, 'the query (a signed URL\'s secret) is not recorded');
  // A bucket key goes to the trainer as it is.
  assert.deepEqual(await stageInitModel(bucket.store, source, FIELD), { key: source, source: '' });
});

test('a 10-class run starts from the 4-class model: the body matches, the head is skipped, and the record keeps source and digest', async () => {
  const url = `${webBase}/stock/model.json`;
  const spec = validateSpec({
    name: 'init-fine', generations: 1,
    dataset: { prefix: 'datasets/fine', limit_train: 600, limit_test: 100, labels_per_class: 10, val_per_class: 5, shard_size: 300 },
    // One step at a tiny learning rate, without dropout: the trained weights are the init's.
    teacher: { max_steps: 1, eval_every: 1, checkpoint_every: 1, batch_size: 16, warmup_steps: 0, learning_rate: 1e-7, augment: 'none', dropout: 0, init_checkpoint: url },
  });
  const record = await runPipeline(spec, { store: bucket.store, clients, logger: silentLogger, display: quiet, requestId: 'init-fine', teacherOnly: true });
  const g = record.generations[0];
  const init = g.teacherTrain?.init;
  assert.ok(init, 'the teacher result carries the init report');
  assert.equal(init.source, url);
  assert.match(init.checkpoint!.key, /^inits\/[0-9a-f]{64}\/model\.json$/);
  assert.equal(init.checkpoint!.key, `inits/${init.digest}/model.json`);
  assert.equal(init.checkpoint!.sha256, (await bucket.store.stat(init.checkpoint!.key))!.sha256);
  assert.deepEqual(init.matched, ['conv1', 'conv2', 'conv3', 'conv4', 'fc1']);
  assert.deepEqual(init.skipped, [{ layer: 'logits', weight: 'kernel', modelShape: [64, 10], initShape: [64, 4] }]);
  assert.deepEqual([init.unmatched, init.unused], [[], []]);
  assert.deepEqual(g.teacher?.inputs.map((a) => a.key), [`${spec.dataset.prefix}/manifest.json`, init.checkpoint!.key], 'lineage: the dataset and the init');
  // The job says so in its events and in the service's log.
  const log = readFileSync(services[0].log, 'utf8');
  assert.match(log, new RegExp(`init ${init.checkpoint!.key} \\(digest ${init.digest.slice(0, 12)}\\): 5 layer\\(s\\) matched, 1 skipped for their shape \\(logits kernel \\[64,10\\] vs init \\[64,4\\]\\)`));

  // Body weights after one step at 1e-7 are the source's; the head has the fine label space.
  const [before, trained] = await Promise.all([loadModelFromBucket(bucket.store, source), loadModelFromBucket(bucket.store, g.teacherCheckpoint!.key)]);
  try {
    for (const name of init.matched) {
      const a = before.getLayer(name).getWeights();
      trained.getLayer(name).getWeights().forEach((w, i) => {
        const diff = Math.max(...Array.from(w.dataSync(), (v, j) => Math.abs(v - a[i].dataSync()[j])));
        assert.ok(diff < 1e-5, `${name} weight ${i} moved ${diff} from the init`);
      });
    }
    assert.deepEqual(trained.getLayer('logits').getWeights()[0].shape, [64, 10]);
  } finally {
    before.dispose();
    trained.dispose();
  }
});

test('a missing file, a corrupt model.json, a GraphModel, and an init that matches nothing are errors naming the field', async () => {
  await assert.rejects(stageInitModel(bucket.store, path.join(bucket.home, 'nowhere', 'model.json'), FIELD),
    (e: unknown) => e instanceof NotFoundError && e.message === `${FIELD}: ${path.join(bucket.home, 'nowhere', 'model.json')} does not exist`);
  await assert.rejects(stageInitModel(bucket.store, `${webBase}/nowhere/model.json`, FIELD), (e: unknown) => e instanceof NotFoundError && /answered HTTP 404/.test(e.message));
  const bad = (name: string, files: Record<string, string | Buffer>) => {
    const dir = path.join(bucket.home, name);
    mkdirSync(dir, { recursive: true });
    for (const [f, bytes] of Object.entries(files)) writeFileSync(path.join(dir, f), bytes);
    return dir;
  };
  const stockJson = readFileSync(path.join(stockDir, 'model.json'), 'utf8');
  const weights = readFileSync(path.join(stockDir, 'weights.bin'));
  const corrupt = bad('corrupt', { 'model.json': stockJson.slice(0, 200), 'weights.bin': weights });
  await assert.rejects(stageInitModel(bucket.store, `${webBase}/corrupt/model.json`, FIELD), (e: unknown) => e instanceof InputError && e.field === FIELD && /is not valid JSON/.test(e.message));
  await assert.rejects(stageInitModel(bucket.store, corrupt, FIELD), (e: unknown) => e instanceof InputError && e.field === FIELD && /is not valid JSON/.test(e.message));
  const noManifest = bad('no-manifest', { 'model.json': JSON.stringify({ ...JSON.parse(stockJson), weightsManifest: undefined }) });
  await assert.rejects(stageInitModel(bucket.store, noManifest, FIELD), (e: unknown) => e instanceof InputError && /no weightsManifest array/.test(e.message));
  const truncated = bad('truncated', { 'model.json': stockJson, 'weights.bin': weights.subarray(0, 100) });
  await assert.rejects(stageInitModel(bucket.store, truncated, FIELD), (e: unknown) => e instanceof InputError && /bytes of weights, model\.json's weightsManifest describes \d+ \(truncated\?\)/.test(e.message));
  const noWeights = bad('no-weights', { 'model.json': stockJson });
  await assert.rejects(stageInitModel(bucket.store, noWeights, FIELD), (e: unknown) => e instanceof NotFoundError && /no-weights\/weights\.bin does not exist/.test(e.message));
  const graph = bad('graph', { 'model.json': JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }) });
  await assert.rejects(stageInitModel(bucket.store, graph, FIELD), (e: unknown) => e instanceof InputError && e.field === FIELD && /is a TF\.js GraphModel/.test(e.message));

  // What the trainer checks at Start, before any job runs.
  const staged = await stageInitModel(bucket.store, stockDir, FIELD);
  const start = (jobId: string, initCheckpoint: string, width?: number) => call<StartTeacherRequest, StartJobResponse>(clients.teacher, clients.teacher.startTraining as never, 'StartTraining',
    StartTeacherRequest.fromPartial({ jobId, dataset: 'datasets/fine', outputPrefix: `runs/${jobId}/teacher`, options: { initCheckpoint, width, maxSteps: 1 } }));
  // The source has width 0.5: at width 1 every layer has another shape, so nothing would be initialised.
  await assert.rejects(start('init-wide', staged!.key, 1), (e: unknown) => e instanceof InputError && e.field === 'options.init_checkpoint'
    && /matches no layer of model cnn-small \(width 1\): 0 layer\(s\) matched, 6 skipped for their shape/.test(e.message));
  await bucket.store.put('uploads/corrupt/model.json', Buffer.from(stockJson.slice(0, 200)));
  await assert.rejects(start('init-corrupt', 'uploads/corrupt/model.json'), (e: unknown) => /DATA_LOSS: uploads\/corrupt\/model\.json at byte 0: is not valid JSON/.test((e as Error).message));
  await assert.rejects(start('init-missing', 'uploads/none/model.json'), (e: unknown) => e instanceof NotFoundError && /options\.init_checkpoint uploads\/none\/model\.json/.test(e.message));
  await bucket.store.put('uploads/graph/model.json', readFileSync(path.join(graph, 'model.json')));
  await assert.rejects(start('init-graph', 'uploads/graph/model.json'), (e: unknown) => e instanceof InputError && e.field === 'options.init_checkpoint' && /GraphModel/.test(e.message));
});

test('selftrain run: a relative init path is the spec file\'s, and a missing one exits 2 naming the key', async () => {
  const specFile = path.join(bucket.home, 'specs', 'missing-init.yaml');
  mkdirSync(path.dirname(specFile), { recursive: true });
  writeFileSync(specFile, 'name: missing-init\nteacher:\n  init_checkpoint: ./models/fmnist4/model.json\n');
  const run = await runCli(['run', specFile], bucket.env);
  assert.equal(run.status, 2, run.stderr);
  assert.match(run.stderr, new RegExp(`teacher\\.init_checkpoint: ${path.join(bucket.home, 'specs', 'models', 'fmnist4', 'model.json').replace(/\./g, '\\.')} does not exist \\(paths are relative to`));
});
