import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { CorruptDataError, InputError } from '@selftrain/errors';
import type { ImageRecord } from './image-example';
import { readShard, writeShard } from './shard';
import { WorkerShardCodec } from './shard-codec';
import { iterateTFRecords } from './tfrecord';

const rec = (i: number): ImageRecord => ({
  key: `r-${i}`,
  image: Uint8Array.from({ length: 48 }, (_, j) => (i * 7 + j * 13) & 0xff),
  height: 4,
  width: 4,
  channels: 3,
  ...(i % 2 ? { label: i % 10, confidence: 0.5 + i / 100 } : { probabilities: Float32Array.of(0.25, 0.75) }),
});

test('on the worker thread: the same records as readShard, and the same bytes as writeShard', async (t) => {
  const codec = new WorkerShardCodec();
  t.after(() => codec.close());
  const bytes = writeShard(Array.from({ length: 30 }, (_, i) => rec(i)));
  const inline = readShard(bytes, 'd/s-0.tfrecord');
  const [fromWorker, again] = await Promise.all([codec.read(bytes, 'd/s-0.tfrecord'), codec.read(bytes, 'd/s-0.tfrecord')]);
  assert.deepEqual(fromWorker, inline);
  assert.deepEqual(again, inline);
  assert.ok(fromWorker[0].probabilities instanceof Float32Array && fromWorker[1].image instanceof Uint8Array);
  const written = await codec.write(fromWorker);
  assert.ok(Buffer.isBuffer(written));
  assert.equal(Buffer.compare(written, writeShard(inline)), 0);
});

test('a corrupt shard read on the worker is the CorruptDataError readShard throws: same object, offset and message', async (t) => {
  const codec = new WorkerShardCodec();
  t.after(() => codec.close());
  const buf = writeShard(Array.from({ length: 5 }, (_, i) => rec(i)));
  const offsets = [...iterateTFRecords(buf, 'x')].map((r) => r.offset);
  const bad = Buffer.from(buf);
  bad[offsets[2] + 30] ^= 0x04;
  const name = 'ds/unlabeled/unlabeled-00002-of-00029.tfrecord';
  let inline: CorruptDataError | undefined;
  try { readShard(bad, name); } catch (e) { inline = e as CorruptDataError; }
  assert.ok(inline instanceof CorruptDataError);
  await assert.rejects(codec.read(bad, name), (e: unknown) =>
    e instanceof CorruptDataError && e.object === name && e.offset === offsets[2] && e.message === inline!.message);
  // A record the writer refuses (pixels that do not fit the shape): the writer's InputError, field and all.
  await assert.rejects(codec.write([{ ...rec(1), image: new Uint8Array(5) }]), (e: unknown) =>
    e instanceof InputError && e.field === 'image' && e.message === 'image: 5 bytes for 4x4x3 (r-1)');
  // The worker is still there for the next call.
  assert.equal((await codec.read(buf, name)).length, 5);
});

test('a worker that dies fails the call it held with the reason; the next call starts a new one', async (t) => {
  const codec = new WorkerShardCodec();
  t.after(() => codec.close());
  const bytes = writeShard(Array.from({ length: 2000 }, (_, i) => rec(i)));
  const held = codec.read(bytes, 'd/big.tfrecord');
  await (codec as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
  await assert.rejects(held, /shard codec worker exited with code \d+/);
  assert.equal((await codec.read(bytes, 'd/big.tfrecord')).length, 2000);
});

test('an idle worker does not keep the process alive, and a call in flight does', () => {
  const script = `
    const { WorkerShardCodec, writeShard } = require(${JSON.stringify(path.join(__dirname, 'index.js'))});
    const codec = new WorkerShardCodec();
    const rec = { key: 'k', image: new Uint8Array(4), height: 2, width: 2, channels: 1, label: 1 };
    // Nothing but the pending call keeps this process up: it must still print before exiting.
    codec.read(writeShard([rec, rec]), 's').then((r) => console.log('read ' + r.length));`;
  const res = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(res.signal, null, 'the process exited on its own (no timeout kill)');
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.stdout.trim(), 'read 2');
});
