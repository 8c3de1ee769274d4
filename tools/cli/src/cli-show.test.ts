// `selftrain show`: the real CLI against an embedded S3 holding a hand-made run record and one
// pseudo-label shard; no services, no training.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { writeShard, type ImageRecord } from '@selftrain/data';
import { saveRunRecord } from '@selftrain/pipeline/records';
import { RunRecord } from '@selftrain/proto';
import { openTestBucket, runCli, type TestBucket } from './testing/cli-harness';

let bucket: TestBucket;

before(async () => {
  bucket = await openTestBucket('show');
  const { store } = bucket;
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

after(() => bucket.close());

const cli = (args: string[]) => runCli(args, bucket.env);

const pngSize = (png: Buffer) => ({ signature: png.subarray(1, 4).toString('latin1'), width: png.readUInt32BE(16), height: png.readUInt32BE(20) });

test('show RUN writes the grid under SELFTRAIN_HOME/reports; --count and --out', async () => {
  const all = await cli(['show', 'det']);
  assert.equal(all.status, 0, all.stderr);
  const file = path.join(bucket.home, 'reports', 'det-samples.png');
  assert.equal(all.stdout.trim(), file);
  assert.match(all.stderr, /6 detection pseudo-labels of generation 0/);
  // 6 tiles of 96 px at 2x in one row: 4 + 6 * (192 + 2 * 3 + 4) px wide.
  const size = pngSize(readFileSync(file));
  assert.deepEqual([size.signature, size.width], ['PNG', 4 + 6 * 202]);
  assert.ok(size.height > 4 + 198 + 4, 'one row of tiles and the legend of the six classes');

  const out = path.join(bucket.home, 'two.png');
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
