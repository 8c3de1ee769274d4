import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CorruptDataError } from '@selftrain/errors';
import { crc32c, maskCrc, maskedCrc32c } from './crc32c';
import { decodeTFRecords, encodeTFRecords, iterateTFRecords } from './tfrecord';

// Bit-at-a-time reference, independent of the table code.
function crc32cBitwise(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

test('crc32c matches the check value and the RFC 3720 (iSCSI) vectors', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
});

test('crc32c equals the bitwise reference at every length and alignment, and extends', () => {
  const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 131 + 7) & 0xff);
  for (let start = 0; start < 9; start++) {
    for (let len = 0; len < 40; len++) {
      const part = data.subarray(start, start + len);
      assert.equal(crc32c(part), crc32cBitwise(part));
    }
  }
  assert.equal(crc32c(data.subarray(100), crc32c(data.subarray(0, 100))), crc32c(data));
});

test('mask follows TensorFlow: rotate right 15, add 0xa282ead8', () => {
  // crc32c('') = 0, so an empty record's data CRC is the bare mask delta.
  assert.equal(maskCrc(0), 0xa282ead8);
  assert.equal(maskCrc(0xe3069283), (((0xe3069283 >>> 15) | (0xe3069283 << 17)) + 0xa282ead8) >>> 0);
  assert.equal(maskCrc(0xffffffff), (0xffffffff + 0xa282ead8) % 2 ** 32);
});

test('an empty record is framed as TensorFlow writes it', () => {
  const buf = encodeTFRecords([new Uint8Array(0)]);
  assert.equal(buf.length, 16);
  assert.deepEqual([...buf.subarray(0, 8)], [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(buf.readUInt32LE(8), maskCrc(crc32cBitwise(new Uint8Array(8))));
  assert.equal(buf.readUInt32LE(12), 0xa282ead8);
  assert.deepEqual([...decodeTFRecords(buf, 'x')].map((r) => r.length), [0]);
});

test('a record is little-endian length, masked length CRC, data, masked data CRC', () => {
  const data = Buffer.from('123456789');
  const buf = encodeTFRecords([data]);
  assert.equal(buf.readBigUInt64LE(0), 9n);
  assert.equal(buf.readUInt32LE(8), maskedCrc32c(buf.subarray(0, 8)));
  assert.deepEqual(buf.subarray(12, 21), data);
  assert.equal(buf.readUInt32LE(21), maskCrc(0xe3069283));
});

function sample(): { records: Buffer[]; buf: Buffer; offsets: number[] } {
  const records = [Buffer.from('first'), Buffer.alloc(1000, 7), Buffer.from('third record')];
  const buf = encodeTFRecords(records);
  const offsets = [0, 12 + 5 + 4, 12 + 5 + 4 + 12 + 1000 + 4];
  return { records, buf, offsets };
}

test('round trip keeps order and reports offsets', () => {
  const { records, buf, offsets } = sample();
  const got = [...iterateTFRecords(buf, 'x')];
  assert.deepEqual(got.map((r) => Buffer.from(r.data)), records);
  assert.deepEqual(got.map((r) => r.offset), offsets);
  assert.deepEqual([...decodeTFRecords(new Uint8Array(0), 'x')], []);
});

function corruptAt(buf: Uint8Array, name: string, offset: number, message: RegExp) {
  assert.throws(
    () => [...decodeTFRecords(buf, name)],
    (e: unknown) => e instanceof CorruptDataError && e.object === name && e.offset === offset && message.test(e.message),
  );
}

test('a flipped data byte is a data CRC mismatch at that record', () => {
  const { buf, offsets } = sample();
  const bad = Buffer.from(buf);
  bad[offsets[1] + 12 + 500] ^= 0x10;
  corruptAt(bad, 's.tfrecord', offsets[1], /data CRC mismatch/);
});

test('a flipped length byte or data CRC byte is caught', () => {
  const { buf, offsets } = sample();
  const len = Buffer.from(buf);
  len[offsets[2]] ^= 1;
  corruptAt(len, 's', offsets[2], /length CRC mismatch/);
  const crc = Buffer.from(buf);
  crc[offsets[1] - 1] ^= 0x80;
  corruptAt(crc, 's', 0, /data CRC mismatch/);
});

test('truncation is an error, never a short read', () => {
  const { buf, offsets } = sample();
  corruptAt(buf.subarray(0, buf.length - 1), 's', offsets[2], /truncated record: 12 data bytes/);
  corruptAt(buf.subarray(0, offsets[2] + 5), 's', offsets[2], /truncated record header/);
  corruptAt(buf.subarray(0, offsets[1] + 12), 's', offsets[1], /truncated record/);
});
