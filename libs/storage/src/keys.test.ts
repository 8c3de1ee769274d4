import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError, requireKey } from '@selftrain/errors';
import { normalizeStorePrefix, validateKey, validatePrefix } from './keys';

test('validateKey accepts ordinary relative keys', () => {
  for (const k of ['a', 'runs/r1/record.json', 'ckpt/step-10/model.json', 'x.y/z_1-2']) assert.equal(validateKey(k), k);
});

test('validateKey rejects empty, absolute, "..", ".", "//", trailing "/", backslashes and control characters', () => {
  for (const k of ['', '/abs', '../x', 'a/../b', 'a/..', './a', 'a//b', 'a/', 'a\\b', 'a\u0000b', 'x'.repeat(1025)]) {
    assert.throws(() => validateKey(k), (err: unknown) => err instanceof InputError && err.field === 'key', `key ${JSON.stringify(k)}`);
  }
  assert.throws(() => validateKey(42 as unknown as string), InputError);
});

test('validatePrefix allows "" and a trailing slash but not escapes', () => {
  assert.equal(validatePrefix(''), '');
  assert.equal(validatePrefix('runs/'), 'runs/');
  assert.throws(() => validatePrefix('../'), InputError);
  assert.throws(() => validatePrefix('/runs'), InputError);
  assert.equal(normalizeStorePrefix('team/a'), 'team/a/');
  assert.equal(normalizeStorePrefix(undefined), '');
});

test('the store refuses exactly the keys request validation refuses (one rule set: objectKeyProblem)', () => {
  const keys = ['a', 'runs/r1/run.json', '', '/abs', '../x', 'a/./b', 'a//b', 'a/', 'a\\b', 'tab\tx', `ok/${'y'.repeat(255)}`, `ok/${'y'.repeat(256)}`, 'я'.repeat(600)];
  for (const k of keys) {
    const byStore = (() => { try { validateKey(k); return true; } catch { return false; } })();
    const byRequest = (() => { try { requireKey(k, 'key'); return true; } catch { return false; } })();
    assert.equal(byStore, byRequest, `key ${JSON.stringify(k.slice(0, 20))}: store ${byStore}, request ${byRequest}`);
  }
});
