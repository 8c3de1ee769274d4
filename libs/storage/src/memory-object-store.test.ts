import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { CorruptDataError, InputError, NotFoundError } from '@selftrain/errors';
import { MemoryObjectStore } from './memory-object-store';

test('memory store follows the ObjectStore contract', async () => {
  const s = new MemoryObjectStore();
  const data = Buffer.from('hello');
  const art = await s.put('a/b.bin', data);
  assert.deepEqual(art, { key: 'a/b.bin', sha256: createHash('sha256').update(data).digest('hex'), sizeBytes: 5 });
  data[0] = 0;
  assert.equal((await s.get('a/b.bin')).toString(), 'hello');
  assert.deepEqual(await s.stat('a/b.bin'), art);
  assert.equal(await s.stat('a/c'), null);
  await assert.rejects(s.get('a/c'), (e: unknown) => e instanceof NotFoundError && e.what === 'a/c');
  await s.putJson('a/a.json', { x: 1 });
  assert.deepEqual(await s.getJson('a/a.json'), { x: 1 });
  await assert.rejects(s.getJson('a/b.bin'), CorruptDataError);
  assert.deepEqual(await s.list('a/'), ['a/a.json', 'a/b.bin']);
  await s.delete('a/b.bin');
  assert.equal(await s.exists('a/b.bin'), false);
  await assert.rejects(s.put('../x', data), InputError);
  await assert.rejects(s.put('/x', data), InputError);
});
