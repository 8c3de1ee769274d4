import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FileTable } from './file-table';

test('FileTable: names and labels back as pushed, past every growth, UTF-8 names included', () => {
  const t = new FileTable();
  const names = Array.from({ length: 5000 }, (_, i) => (i % 7 === 0 ? `chat/été-${i}-猫.jpg` : `class-${i % 10}/${String(i).padStart(5, '0')}.jpg`));
  names.forEach((n, i) => t.push(n, i % 10 === 3 ? -1 : i % 10));
  assert.equal(t.length, names.length);
  names.forEach((n, i) => {
    assert.equal(t.rel(i), n);
    assert.equal(t.label(i), i % 10 === 3 ? -1 : i % 10);
  });
  t.relabel((l) => (l < 0 ? l : 9 - l));
  assert.equal(t.label(0), 9);
  assert.equal(t.label(3), -1);
  assert.equal(t.rel(4999), names[4999]);
});

test('FileTable: a few bytes a file beyond its name (the listing of a large pool stays small)', () => {
  const t = new FileTable();
  for (let i = 0; i < 200_000; i++) t.push(`class-${i % 10}/${String(i).padStart(6, '0')}.jpg`, i % 10);
  // Names (~19 bytes) plus 8; the buffers at most double when they grow.
  const inside = t as unknown as { names: Buffer; ends: Uint32Array; labels: Int32Array };
  const held = inside.names.length + inside.ends.byteLength + inside.labels.byteLength;
  assert.ok(held / t.length < 2 * (19 + 8), `${(held / t.length).toFixed(1)} bytes a file`);
});
