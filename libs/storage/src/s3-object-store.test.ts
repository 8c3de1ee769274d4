import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CorruptDataError, InputError, NotFoundError } from '@selftrain/errors';
import { startEmbeddedS3, type EmbeddedS3 } from './embedded-s3';
import { S3ObjectStore } from './s3-object-store';
import { sha256Hex } from './sha256';

let dir: string;
let s3: EmbeddedS3;
let store: S3ObjectStore;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'storage-test-'));
  s3 = await startEmbeddedS3({ directory: dir, port: 0 });
  store = await S3ObjectStore.connect({ ...s3.config, prefix: 'suite' });
});

after(async () => {
  store?.close();
  await s3?.close();
  await rm(dir, { recursive: true, force: true });
});

test('put/get/stat round-trip records sha256 and size', async () => {
  const data = Buffer.from('hello, bucket');
  const art = await store.put('a/hello.txt', data, 'text/plain');
  assert.deepEqual(art, { key: 'a/hello.txt', sha256: sha256Hex(data), sizeBytes: data.length });
  assert.deepEqual(await store.get('a/hello.txt'), data);
  assert.deepEqual(await store.stat('a/hello.txt'), { key: 'a/hello.txt', sizeBytes: data.length, sha256: sha256Hex(data) });
  assert.equal(await store.exists('a/hello.txt'), true);
});

test('Uint8Array views and empty objects are stored exactly', async () => {
  const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
  await store.put('bytes/view.bin', backing.subarray(2, 5));
  assert.deepEqual([...(await store.get('bytes/view.bin'))], [1, 2, 3]);
  const empty = await store.put('bytes/empty.bin', Buffer.alloc(0));
  assert.equal(empty.sizeBytes, 0);
  assert.equal((await store.get('bytes/empty.bin')).length, 0);
});

test('a 3 MB object goes through a single PUT of known size', async () => {
  const big = Buffer.alloc(3 * 1024 * 1024, 7);
  const art = await store.put('big/blob.bin', big);
  assert.equal(art.sizeBytes, big.length);
  assert.equal(sha256Hex(await store.get('big/blob.bin')), art.sha256);
});

test('missing keys: get throws NotFoundError naming the key, stat is null, exists is false', async () => {
  await assert.rejects(store.get('no/such.bin'), (err: unknown) => err instanceof NotFoundError && err.what === 'no/such.bin' && /no\/such\.bin/.test(err.message));
  assert.equal(await store.stat('no/such.bin'), null);
  assert.equal(await store.exists('no/such.bin'), false);
  await assert.rejects(store.getJson('no/such.json'), NotFoundError);
});

test('bad keys throw InputError before any request', async () => {
  for (const key of ['', '../escape', 'a/../../b', '/abs', 'a\\b']) {
    await assert.rejects(store.put(key, Buffer.from('x')), (err: unknown) => err instanceof InputError && err.field === 'key', key);
    await assert.rejects(store.get(key), InputError);
  }
  await assert.rejects(store.list('../'), InputError);
});

test('list is recursive and sorted; delete removes', async () => {
  for (const k of ['l/c.txt', 'l/a.txt', 'l/sub/deep/b.txt', 'lx/other.txt']) await store.put(k, Buffer.from(k));
  assert.deepEqual(await store.list('l/'), ['l/a.txt', 'l/c.txt', 'l/sub/deep/b.txt']);
  assert.deepEqual(await store.list('l'), ['l/a.txt', 'l/c.txt', 'l/sub/deep/b.txt', 'lx/other.txt']);
  await store.delete('l/c.txt');
  assert.deepEqual(await store.list('l/'), ['l/a.txt', 'l/sub/deep/b.txt']);
  await store.delete('l/c.txt'); // deleting twice is not an error (S3 semantics)
});

test('putJson/getJson round-trip; non-JSON is a CorruptDataError naming the key', async () => {
  const value = { run: 'r1', generations: [1, 2], nested: { ok: true } };
  const art = await store.putJson('json/run.json', value);
  assert.equal(art.key, 'json/run.json');
  assert.deepEqual(await store.getJson('json/run.json'), value);
  await store.put('json/broken.json', Buffer.from('{not json'));
  await assert.rejects(store.getJson('json/broken.json'), (err: unknown) => err instanceof CorruptDataError && err.object === 'json/broken.json');
});

test('stores with different prefixes on one bucket do not see each other', async () => {
  const a = await S3ObjectStore.connect({ ...s3.config, prefix: 'tenant-a' });
  const b = await S3ObjectStore.connect({ ...s3.config, prefix: 'tenant-b/' });
  try {
    await a.put('shared/name.txt', Buffer.from('from a'));
    await b.put('shared/name.txt', Buffer.from('from b'));
    assert.equal((await a.get('shared/name.txt')).toString(), 'from a');
    assert.equal((await b.get('shared/name.txt')).toString(), 'from b');
    assert.deepEqual(await a.list(''), ['shared/name.txt']);
    await b.delete('shared/name.txt');
    assert.equal(await b.exists('shared/name.txt'), false);
    assert.equal(await a.exists('shared/name.txt'), true);
    assert.equal(a.fullKey('x'), 'tenant-a/x');
  } finally {
    a.close();
    b.close();
  }
});

test('bytes changed behind the store are detected on get (CorruptDataError)', async () => {
  await store.put('corrupt/me.bin', Buffer.from('original'));
  // s3rver keeps each object as a plain file; overwrite it with same-length bytes.
  await writeFile(join(dir, s3.config.bucket, 'suite', 'corrupt', 'me.bin._S3rver_object'), 'tampered');
  await assert.rejects(store.get('corrupt/me.bin'), CorruptDataError);
});

test('connect fails clearly on a missing bucket unless createBucket is set', async () => {
  await assert.rejects(
    S3ObjectStore.connect({ ...s3.config, bucket: 'absent-bucket' }),
    (err: unknown) => err instanceof NotFoundError && /absent-bucket/.test(err.message) && err.message.includes(s3.endpoint),
  );
  const created = await S3ObjectStore.connect({ ...s3.config, bucket: 'created-bucket', createBucket: true });
  await created.put('k', Buffer.from('v'));
  assert.equal((await created.get('k')).toString(), 'v');
  created.close();
});
