import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'minio';
import { EMBEDDED_ACCESS_KEY, EMBEDDED_SECRET_KEY, startEmbeddedS3, type EmbeddedS3 } from './embedded-s3';
import { S3ObjectStore } from './s3-object-store';
import { StorageError } from './storage-errors';

let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'embedded-s3-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

function raw(s3: EmbeddedS3, method: string, path: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: s3.config.endPoint, port: s3.config.port, method, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('defaults: loopback, the documented credentials, bucket created', async () => {
  const s3 = await startEmbeddedS3({ directory: join(root, 'defaults') });
  try {
    assert.match(s3.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(s3.config.accessKey, EMBEDDED_ACCESS_KEY);
    assert.equal(s3.config.secretKey, EMBEDDED_SECRET_KEY);
    assert.equal(s3.config.bucket, 'selftrain');
    const store = await S3ObjectStore.connect(s3.config);
    await store.put('ok.txt', Buffer.from('ok'));
    store.close();
  } finally {
    await s3.close();
  }
});

test('a wrong secret, an unknown key, anonymous requests and path escapes are rejected', async () => {
  const s3 = await startEmbeddedS3({ directory: join(root, 'auth'), secretKey: 'the-right-secret' });
  try {
    // Through connect: a clear error naming the endpoint and bucket.
    await assert.rejects(
      S3ObjectStore.connect({ ...s3.config, secretKey: 'a-wrong-secret' }),
      (err: unknown) => err instanceof StorageError && err.message.includes(s3.endpoint) && err.message.includes('"selftrain"'),
    );
    // A raw client with the wrong secret: the signature check itself fails.
    const base = { endPoint: s3.config.endPoint, port: s3.config.port, useSSL: false, region: 'us-east-1' };
    const wrong = new Client({ ...base, accessKey: s3.config.accessKey, secretKey: 'a-wrong-secret' });
    await assert.rejects(wrong.putObject('selftrain', 'x.txt', Buffer.from('x')), { code: 'SignatureDoesNotMatch' });
    // s3rver's built-in S3RVER/S3RVER pair must not open the door.
    const dummy = new Client({ ...base, accessKey: 'S3RVER', secretKey: 'S3RVER' });
    await assert.rejects(dummy.putObject('selftrain', 'x.txt', Buffer.from('x')), { code: 'InvalidAccessKeyId' });
    // Stock s3rver serves unsigned requests and maps '..' onto the filesystem; both are refused here.
    assert.equal(await raw(s3, 'PUT', '/selftrain/anon.txt', 'anon'), 403);
    assert.equal(await raw(s3, 'GET', '/selftrain/anon.txt'), 403);
    assert.equal(await raw(s3, 'PUT', '/selftrain/..%2F..%2Fescaped.txt', 'x'), 400);
    // The right secret still works.
    const right = new Client({ ...base, accessKey: s3.config.accessKey, secretKey: 'the-right-secret' });
    await right.putObject('selftrain', 'x.txt', Buffer.from('x'));
  } finally {
    await s3.close();
  }
});

test('objects persist across a restart on the same directory', async () => {
  const directory = join(root, 'persist');
  const first = await startEmbeddedS3({ directory });
  const s1 = await S3ObjectStore.connect(first.config);
  const art = await s1.putJson('runs/r1/record.json', { generation: 1 });
  s1.close();
  await first.close();

  const second = await startEmbeddedS3({ directory });
  try {
    const s2 = await S3ObjectStore.connect(second.config);
    assert.deepEqual(await s2.getJson('runs/r1/record.json'), { generation: 1 });
    assert.equal((await s2.stat('runs/r1/record.json'))?.sha256, art.sha256);
    assert.deepEqual(await s2.list(''), ['runs/r1/record.json']);
    s2.close();
  } finally {
    await second.close();
  }
});
