import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { InputError } from '@selftrain/errors';
import sharp from 'sharp';
import { DecodePool } from './decode-pool';
import { decodeImageFile } from './image-decode';

const CIFAR = path.join(__dirname, '..', 'fixtures', 'cifar10');
const FILES = ['airplane-0000', 'cat-0001', 'ship-0002', 'frog-0003'].map((n) => path.join(CIFAR, `${n}.jpg`));

test('DecodePool decodes on worker threads exactly as decodeImage does on this one, in any batch split', async (t) => {
  const pool = new DecodePool({ threads: 2, batchSize: 3 });
  t.after(() => pool.close());
  const opts = { channels: 3, size: { height: 24, width: 24 }, fit: 'center-crop' } as const;
  const files = [...FILES, ...FILES, ...FILES];
  const got = await Promise.all(files.map((f) => pool.decode(f, opts)));
  const want = await Promise.all(files.map((f) => decodeImageFile(f, opts)));
  for (let i = 0; i < files.length; i++) {
    assert.deepEqual(got[i].pixels, want[i].pixels, files[i]);
    assert.deepEqual({ ...got[i], pixels: 0 }, { ...want[i], pixels: 0 });
  }
  const png = await sharp(Buffer.alloc(10 * 10), { raw: { width: 10, height: 10, channels: 1 } }).png().toBuffer();
  const fromBytes = await pool.decode({ bytes: png, where: 'in-memory.png' }, { channels: 1 });
  assert.deepEqual([fromBytes.height, fromBytes.width, fromBytes.channels, fromBytes.format], [10, 10, 1, 'png']);
});

test('DecodePool: a bad file rejects only its own call, with the InputError naming it', async (t) => {
  const pool = new DecodePool({ threads: 2 });
  t.after(() => pool.close());
  const missing = path.join(CIFAR, 'missing.jpg');
  const results = await Promise.allSettled([pool.decode(FILES[0], { channels: 1 }), pool.decode(missing, { channels: 1 }), pool.decode({ bytes: Buffer.from('text'), where: 'notes.txt' }, { channels: 1 })]);
  assert.equal(results[0].status, 'fulfilled');
  for (const [r, field] of [[results[1], missing], [results[2], 'notes.txt']] as const) {
    assert.equal(r.status, 'rejected');
    const err = (r as PromiseRejectedResult).reason;
    assert.ok(err instanceof InputError);
    assert.equal(err.field, field);
  }
  assert.match((results[2] as PromiseRejectedResult).reason.message, /^notes\.txt: not an image/);
});

test('DecodePool: calls after close are refused; waiting calls fail rather than hang', async () => {
  const pool = new DecodePool({ threads: 1 });
  const pending = pool.decode(FILES[0], { channels: 3 });
  await pool.close();
  await assert.rejects(pending, /decode pool closed/);
  await assert.rejects(pool.decode(FILES[0], { channels: 3 }), /decode pool closed/);
});
