import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CorruptDataError, InputError } from '@selftrain/errors';
import { readIdxImages, readIdxLabels } from './idx';

const DIR = '/usr/share/datasets/fashion-mnist';

test('reads the Fashion-MNIST training set: 60000 x 28 x 28, labels 0..9, 6000 each', () => {
  const images = readIdxImages(`${DIR}/train-images-idx3-ubyte.gz`);
  assert.deepEqual([images.count, images.height, images.width], [60000, 28, 28]);
  assert.equal(images.data.length, 60000 * 784);
  const labels = readIdxLabels(`${DIR}/train-labels-idx1-ubyte.gz`);
  assert.equal(labels.length, 60000);
  const counts = new Array(10).fill(0);
  for (const l of labels) counts[l]++;
  assert.deepEqual(counts, new Array(10).fill(6000));
  assert.equal(readIdxLabels(`${DIR}/t10k-labels-idx1-ubyte.gz`).length, 10000);
});

function idx(magic: number, dims: number[], body: number): Buffer {
  const h = Buffer.alloc(4 + 4 * dims.length);
  h.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([h, Buffer.alloc(body, 3)]);
}

test('plain and gzipped files, validated magic and size, errors name the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idx-'));
  try {
    const plain = join(dir, 'imgs');
    writeFileSync(plain, idx(0x803, [2, 3, 4], 24));
    assert.deepEqual(readIdxImages(plain).data, new Uint8Array(24).fill(3));
    const gz = join(dir, 'imgs.gz');
    writeFileSync(gz, gzipSync(idx(0x803, [2, 3, 4], 24)));
    assert.equal(readIdxImages(gz).count, 2);

    const short = join(dir, 'short');
    writeFileSync(short, idx(0x803, [2, 3, 4], 23));
    assert.throws(() => readIdxImages(short), (e: unknown) => e instanceof CorruptDataError && e.object === short && /needs 24/.test(e.message));
    assert.throws(() => readIdxLabels(plain), (e: unknown) => e instanceof CorruptDataError && e.object === plain && /magic/.test(e.message));
    const badGz = join(dir, 'bad.gz');
    writeFileSync(badGz, Buffer.from([0x1f, 0x8b, 1, 2, 3]));
    assert.throws(() => readIdxLabels(badGz), (e: unknown) => e instanceof CorruptDataError && e.object === badGz);
    assert.throws(() => readIdxLabels(join(dir, 'none')), (e: unknown) => e instanceof InputError && e.field === join(dir, 'none'));
  } finally {
    rmSync(dir, { recursive: true });
  }
});
