import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from './domain-errors';
import { MAX_PREFIX_BYTES, requireKey } from './field-checks';

const rejects = (key: string, field = 'dataset', max?: number) =>
  assert.throws(() => requireKey(key, field, max), (e: unknown) => e instanceof InputError && e.field === field, JSON.stringify(key.slice(0, 40)));

test('object keys: path tricks, control characters and over-long keys are refused naming the field', () => {
  assert.equal(requireKey('runs/r1/gen0/teacher/checkpoints/best/model.json', 'checkpoint'), 'runs/r1/gen0/teacher/checkpoints/best/model.json');
  for (const key of ['', '/abs', '../up', 'a/../b', 'a/./b', 'a//b', 'trailing/', 'a\\b', 'nul\u0000', 'tab\tx', 'del\u007f']) rejects(key);
  // 1024 bytes is S3's limit; multi-byte characters count as bytes.
  requireKey(`a/${'b'.repeat(200)}/${'c'.repeat(200)}/${'d'.repeat(200)}/${'e'.repeat(200)}/${'f'.repeat(200)}`, 'k');
  rejects('я'.repeat(600));
  // A segment is a file name on filesystem-backed servers.
  requireKey('x'.repeat(255), 'k');
  rejects(`ok/${'y'.repeat(256)}`);
});

test('a prefix leaves room for the names appended to it', () => {
  const prefix = Array.from({ length: 5 }, () => 'p'.repeat(199)).join('/');
  assert.ok(prefix.length > MAX_PREFIX_BYTES && prefix.length <= 1024);
  requireKey(prefix, 'dataset');
  rejects(prefix, 'dataset', MAX_PREFIX_BYTES);
});
