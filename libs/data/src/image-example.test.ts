import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CorruptDataError, InputError } from '@selftrain/errors';
import { Example } from '@selftrain/proto';
import { decodeImageExample, decodeImageExampleLabels, encodeImageExample, FEATURE, type ImageRecord } from './image-example';

function randomImage(n: number, seed: number): Uint8Array {
  let s = seed;
  return Uint8Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) & 0xff);
}

test('grayscale round trip keeps every pixel and the label', () => {
  const rec: ImageRecord = { key: 'train-00001', image: randomImage(784, 1), height: 28, width: 28, channels: 1, label: 7 };
  const bytes = encodeImageExample(rec);
  const { encoded, ...back } = decodeImageExample(bytes, 'here');
  assert.deepEqual(back, rec);
  // Re-encoding a decoded record reuses its PNG: byte-identical, no second compression.
  assert.deepEqual(encodeImageExample({ ...back, encoded }), bytes);
});

test('RGB and RGBA round trips, with soft labels, confidence and a utf8 key', () => {
  const probs = Float32Array.from([0.1, 0.7, 0.2]);
  for (const channels of [3, 4]) {
    const rec: ImageRecord = {
      key: 'bild-ü-ключ',
      image: randomImage(5 * 7 * channels, channels),
      height: 5,
      width: 7,
      channels,
      probabilities: probs,
      confidence: Math.fround(0.7),
    };
    const { encoded: _png, ...back } = decodeImageExample(encodeImageExample(rec), 'here');
    assert.deepEqual(back, rec);
    assert.equal(back.label, undefined);
  }
});

test('a resized record keeps its source size through a round trip', () => {
  const rec: ImageRecord = { key: 'photo', image: randomImage(32 * 32 * 3, 5), height: 32, width: 32, channels: 3, label: 1, originalHeight: 480, originalWidth: 640 };
  const { encoded: _png, ...back } = decodeImageExample(encodeImageExample(rec), 'here');
  assert.deepEqual(back, rec);
});

test('the Example carries the documented features; label only when present', () => {
  const rec: ImageRecord = { key: 'k', image: new Uint8Array(4), height: 2, width: 2, channels: 1 };
  const f = Example.decode(encodeImageExample(rec)).features!.feature;
  assert.deepEqual(Object.keys(f).sort(), [
    FEATURE.channels, FEATURE.encoded, FEATURE.format, FEATURE.height, FEATURE.key, FEATURE.width,
  ].sort());
  assert.equal(f[FEATURE.format].bytesList!.value[0].toString(), 'png');
  assert.deepEqual([...f[FEATURE.encoded].bytesList!.value[0].subarray(1, 4)], [...Buffer.from('PNG')]);
  const labeled = Example.decode(encodeImageExample({ ...rec, label: 3 })).features!.feature;
  assert.deepEqual(labeled[FEATURE.label].int64List!.value, [3]);
});

test('decodeImageExampleLabels reads key and labels without the image', () => {
  const rec: ImageRecord = { key: 'k9', image: new Uint8Array(4), height: 2, width: 2, channels: 1, label: 9, confidence: 0.5 };
  assert.deepEqual(decodeImageExampleLabels(encodeImageExample(rec), 'w'), { key: 'k9', label: 9, confidence: 0.5 });
  assert.deepEqual(decodeImageExampleLabels(encodeImageExample({ ...rec, label: undefined, confidence: undefined }), 'w'), { key: 'k9' });
});

test('bad records are CorruptDataError naming where and the offset', () => {
  const good = encodeImageExample({ key: 'k', image: new Uint8Array(4), height: 2, width: 2, channels: 1 });
  const ex = Example.decode(good);
  const named = (e: unknown) => e instanceof CorruptDataError && e.object === 'shard-7' && e.offset === 42;

  ex.features!.feature[FEATURE.encoded] = { bytesList: { value: [Buffer.from('not a png')] } };
  assert.throws(() => decodeImageExample(Example.encode(ex).finish(), 'shard-7', 42), (e) => named(e) && /bad PNG/.test((e as Error).message));

  const missing = Example.decode(good);
  delete missing.features!.feature[FEATURE.height];
  assert.throws(() => decodeImageExample(Example.encode(missing).finish(), 'shard-7', 42), (e) => named(e) && /image\/height/.test((e as Error).message));

  const wrongShape = Example.decode(good);
  wrongShape.features!.feature[FEATURE.width] = { int64List: { value: [3] } };
  assert.throws(() => decodeImageExample(Example.encode(wrongShape).finish(), 'shard-7', 42), named);

  assert.throws(() => decodeImageExample(Uint8Array.from([0xff, 0xff, 0xff]), 'shard-7', 42), named);
});

test('invalid records are refused at encode time with InputError', () => {
  const base: ImageRecord = { key: 'k', image: new Uint8Array(4), height: 2, width: 2, channels: 1 };
  const field = (f: string) => (e: unknown) => e instanceof InputError && e.field === f;
  assert.throws(() => encodeImageExample({ ...base, image: new Uint8Array(5) }), field('image'));
  assert.throws(() => encodeImageExample({ ...base, channels: 2 }), field('channels'));
  assert.throws(() => encodeImageExample({ ...base, label: -1 }), field('label'));
  assert.throws(() => encodeImageExample({ ...base, key: '' }), field('key'));
});
