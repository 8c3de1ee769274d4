import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedS3 } from './embedded-s3';
import { S3ObjectStore } from './s3-object-store';
import { StorageUnavailableError } from './storage-errors';

let directory: string;

before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'storage-outage-'));
});
after(async () => {
  await rm(directory, { recursive: true, force: true });
});

test('a put while the server is down for ~1.5 s succeeds once it is back', async () => {
  const s3 = await startEmbeddedS3({ directory });
  const store = await S3ObjectStore.connect({ ...s3.config, retryForMs: 10_000 });
  await store.put('before.txt', Buffer.from('before'));
  await s3.close();

  let restarted: Awaited<ReturnType<typeof startEmbeddedS3>> | undefined;
  const restart = new Promise<void>((resolve, reject) => {
    setTimeout(() => {
      startEmbeddedS3({ directory, port: s3.config.port }).then((r) => { restarted = r; resolve(); }, reject);
    }, 1500);
  });
  try {
    const t0 = Date.now();
    const art = await store.put('during.txt', Buffer.from('during the outage'));
    const waited = Date.now() - t0;
    await restart;
    assert.ok(waited >= 1000, `put returned after ${waited} ms, before the server was back`);
    assert.equal(art.sizeBytes, 17);
    assert.equal((await store.get('during.txt')).toString(), 'during the outage');
    assert.equal((await store.get('before.txt')).toString(), 'before');
  } finally {
    store.close();
    await restart.catch(() => undefined);
    await restarted?.close();
  }
});

test('with a small retryForMs a down server fails with an error naming the endpoint', async () => {
  const s3 = await startEmbeddedS3({ directory });
  const store = await S3ObjectStore.connect({ ...s3.config, retryForMs: 300 });
  await s3.close();
  try {
    const t0 = Date.now();
    await assert.rejects(store.put('x.txt', Buffer.from('x')), (err: unknown) =>
      err instanceof StorageUnavailableError && err.message.includes(s3.endpoint) && err.code === 'ECONNREFUSED');
    assert.ok(Date.now() - t0 < 2000);
    await assert.rejects(
      S3ObjectStore.connect({ ...s3.config, retryForMs: 300 }),
      (err: unknown) => err instanceof StorageUnavailableError && err.message.includes(s3.endpoint) && /"selftrain"/.test(err.message),
    );
  } finally {
    store.close();
  }
});
