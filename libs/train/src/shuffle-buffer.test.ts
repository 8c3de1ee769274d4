import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '@selftrain/random';
import { ShuffleBuffer } from './shuffle-buffer';

async function* numbers(n: number, opened: { count: number }) {
  opened.count += 1;
  for (let i = 0; i < n; i++) yield i;
}

test('holds at most its capacity and reaches every item of a large stream', async () => {
  const opened = { count: 0 };
  const buf = new ShuffleBuffer(() => numbers(1000, opened), 64, createRng(1));
  const seen = new Set<number>();
  for (let i = 0; i < 40; i++) for (const x of await buf.sample(50)) seen.add(x);
  assert.ok(seen.size > 900, `saw ${seen.size}`);
  assert.ok(opened.count >= 2, 'restarts the stream for a new epoch');
  assert.ok((buf as unknown as { items: number[] }).items.length <= 64);
});

test('same seed, same samples; empty stream is an error', async () => {
  const a = new ShuffleBuffer(() => numbers(100, { count: 0 }), 16, createRng(7));
  const b = new ShuffleBuffer(() => numbers(100, { count: 0 }), 16, createRng(7));
  assert.deepEqual(await a.sample(30), await b.sample(30));
  const empty = new ShuffleBuffer(() => numbers(0, { count: 0 }), 16, createRng(1));
  await assert.rejects(empty.sample(1), /empty/);
});
