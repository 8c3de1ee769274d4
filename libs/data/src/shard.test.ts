import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CorruptDataError, NotFoundError } from '@selftrain/errors';
import { DatasetManifest, type Shard } from '@selftrain/proto';
import type { ImageRecord } from './image-example';
import { RECORD_FORMAT, splitOf } from './manifest';
import { readShard, readSplit, streamShards, writeShard } from './shard';
import { iterateTFRecords } from './tfrecord';
import { MemoryObjectStore } from '@selftrain/storage';

const rec = (i: number): ImageRecord => ({
  key: `r-${i}`,
  image: Uint8Array.from({ length: 16 }, (_, j) => (i * 16 + j) & 0xff),
  height: 4,
  width: 4,
  channels: 1,
  label: i % 10,
});

async function storeWithShards(n: number, perShard: number): Promise<{ store: MemoryObjectStore; shards: Shard[] }> {
  const store = new MemoryObjectStore();
  const shards: Shard[] = [];
  for (let s = 0; s < n; s++) {
    const records = Array.from({ length: perShard }, (_, i) => rec(s * perShard + i));
    const art = await store.put(`d/s-${s}.tfrecord`, writeShard(records));
    shards.push({ key: art.key, records: perShard, sha256: art.sha256, sizeBytes: art.sizeBytes });
  }
  return { store, shards };
}

test('writeShard / readShard round trip', () => {
  const records = Array.from({ length: 25 }, (_, i) => rec(i));
  assert.deepEqual(readShard(writeShard(records), 'x').map(({ encoded: _png, ...r }) => r), records);
});

test('a bit flip in a shard names the shard and the record offset', () => {
  const buf = writeShard(Array.from({ length: 5 }, (_, i) => rec(i)));
  const offsets = [...iterateTFRecords(buf, 'x')].map((r) => r.offset);
  const bad = Buffer.from(buf);
  bad[offsets[3] + 30] ^= 0x04;
  assert.throws(
    () => readShard(bad, 'ds/unlabeled/unlabeled-00002-of-00029.tfrecord'),
    (e: unknown) =>
      e instanceof CorruptDataError &&
      e.object === 'ds/unlabeled/unlabeled-00002-of-00029.tfrecord' &&
      e.offset === offsets[3] &&
      /data CRC mismatch/.test(e.message),
  );
});

test('a truncated shard is an error', () => {
  const buf = writeShard(Array.from({ length: 5 }, (_, i) => rec(i)));
  assert.throws(() => readShard(buf.subarray(0, buf.length - 3), 's'), /truncated record/);
});

test('streamShards fetches one shard at a time as the iterator advances', async () => {
  const { store, shards } = await storeWithShards(3, 4);
  const gets = () => store.calls.filter((c) => c.startsWith('get ')).length;
  const it = streamShards(store, shards, { verifySha256: true });
  assert.equal(gets(), 0);
  const keys: string[] = [];
  for (let i = 0; i < 4; i++) {
    keys.push((await it.next()).value!.key);
    assert.equal(gets(), 1);
  }
  keys.push((await it.next()).value!.key);
  assert.equal(gets(), 2);
  for await (const r of it) keys.push(r.key);
  assert.equal(gets(), 3);
  assert.deepEqual(keys, Array.from({ length: 12 }, (_, i) => `r-${i}`));
});

test('streamShards detects a sha256 mismatch, and corruption when not verifying', async () => {
  const { store, shards } = await storeWithShards(2, 3);
  store.tamper(shards[1].key, (d) => {
    d[40] ^= 1;
    return d;
  });
  const drain = async (verifySha256: boolean) => {
    const got: string[] = [];
    for await (const r of streamShards(store, shards, { verifySha256 })) got.push(r.key);
    return got;
  };
  await assert.rejects(drain(true), (e: unknown) => e instanceof CorruptDataError && e.object === shards[1].key && e.offset === 0 && /sha256/.test(e.message));
  await assert.rejects(drain(false), (e: unknown) => e instanceof CorruptDataError && e.object === shards[1].key && /CRC/.test(e.message));
});

test('streamShards checks the record count against the manifest', async () => {
  const { store, shards } = await storeWithShards(1, 3);
  await assert.rejects(async () => {
    for await (const _ of streamShards(store, [{ ...shards[0], records: 4 }])) void _;
  }, /3 records, the manifest says 4/);
});

test('readSplit and splitOf', async () => {
  const { store, shards } = await storeWithShards(2, 3);
  const manifest: DatasetManifest = DatasetManifest.fromPartial({
    name: 'tiny', source: 't', classNames: [], height: 4, width: 4, channels: 1, seed: 0, labelsPerClass: 1,
    createdAt: '', recordFormat: RECORD_FORMAT,
    splits: [{ name: 'labeled', records: 6, shards, classCounts: [], labeled: true }],
  });
  assert.equal((await readSplit(store, manifest, 'labeled')).length, 6);
  assert.throws(
    () => splitOf(manifest, 'val'),
    (e: unknown) => e instanceof NotFoundError && e.what === 'split val' && /available: labeled/.test(e.message),
  );
  await assert.rejects(readSplit(store, manifest, 'nope'), NotFoundError);
});
