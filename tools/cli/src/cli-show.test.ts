// `selftrain show`: the real CLI against an embedded S3 holding a hand-made run record and one
// pseudo-label shard; no services, no training.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeShard, type ImageRecord } from '@selftrain/data';
import { RunRecord } from '@selftrain/proto';
import { S3ObjectStore, startEmbeddedS3, type EmbeddedS3 } from '@selftrain/storage';
import { saveRunRecord } from '@selftrain/pipeline/records';

let home: string;
let s3: EmbeddedS3;
let store: S3ObjectStore;

before(async () => {
  home = mkdtempSync(path.join(tmpdir(), 'selftrain-show-'));
  s3 = await startEmbeddedS3({ directory: path.join(home, 's3'), port: 0 });
  store = await S3ObjectStore.connect({ ...s3.config, createBucket: true });
  const scenes: ImageRecord[] = Array.from({ length: 6 }, (_, i) => ({
    key: `u-${i}`, image: new Uint8Array(96 * 96).fill(40 + i), height: 96, width: 96, channels: 1,
    objects: [{ xmin: 0.1, ymin: 0.2, xmax: 0.5, ymax: 0.6, label: 1 + i }],
  }));
  const shard = await store.put('runs/det/gen-0/pseudo/00000.tfrecord', writeShard(scenes));
  const generation = (pseudoShards: { key: string; records: number; sha256: string; sizeBytes: number }[]) => ({ index: 0, pseudoShards });
  await saveRunRecord(store, RunRecord.fromPartial({
    runId: 'det', dataset: 'datasets/gone', state: 'succeeded',
    generations: [generation([{ key: shard.key, records: scenes.length, sha256: shard.sha256, sizeBytes: shard.sizeBytes }])],
  }));
  await saveRunRecord(store, RunRecord.fromPartial({ runId: 'fresh', state: 'running', generations: [generation([])] }));
});

after(async () => {
  store.close();
  await s3.close();
  rmSync(home, { recursive: true, force: true });
});

// Asynchronous: the S3 server the CLI talks to runs in this process and must keep answering.
function cli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const c = s3.config;
  const env = { ...process.env, SELFTRAIN_HOME: home, S3_ENDPOINT: `http://${c.endPoint}:${c.port}`, S3_BUCKET: c.bucket, S3_ACCESS_KEY: c.accessKey, S3_SECRET_KEY: c.secretKey };
  return new Promise((resolve) => {
    execFile(process.execPath, [path.resolve(__dirname, 'cli.js'), ...args], { env, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ status: code, stdout, stderr });
    });
  });
}

const pngSize = (png: Buffer) => ({ signature: png.subarray(1, 4).toString('latin1'), width: png.readUInt32BE(16), height: png.readUInt32BE(20) });

test('show RUN writes the grid under SELFTRAIN_HOME/reports; --count and --out', async () => {
  const all = await cli(['show', 'det']);
  assert.equal(all.status, 0, all.stderr);
  const file = path.join(home, 'reports', 'det-samples.png');
  assert.equal(all.stdout.trim(), file);
  assert.match(all.stderr, /6 detection pseudo-labels of generation 0/);
  // 6 tiles of 96 px at 2x in one row: 4 + 6 * (192 + 2 * 3 + 4) px wide.
  const size = pngSize(readFileSync(file));
  assert.deepEqual([size.signature, size.width], ['PNG', 4 + 6 * 202]);
  assert.ok(size.height > 4 + 198 + 4, 'one row of tiles and the legend of the six classes');

  const out = path.join(home, 'two.png');
  const two = await cli(['show', 'det', '--count', '2', '--out', out]);
  assert.equal(two.status, 0, two.stderr);
  assert.equal(pngSize(readFileSync(out)).width, 4 + 2 * 202);
});

test('show: unknown run, no pseudo-labels yet and a bad --count are clear errors', async () => {
  const missing = await cli(['show', 'nope']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no run nope in bucket/);
  const fresh = await cli(['show', 'fresh']);
  assert.equal(fresh.status, 1);
  assert.match(fresh.stderr, /run fresh has no pseudo-labels yet/);
  const bad = await cli(['show', 'det', '--count', 'many']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--count: must be an integer >= 1/);
});
