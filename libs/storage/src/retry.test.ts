import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTransientError, RetryExhaustedError, withRetry } from './retry';

const err = (props: Record<string, unknown>, message = 'x', name = 'Error') =>
  Object.assign(Object.assign(new Error(message), { name }), props);

test('transient: connection errors, 5xx and throttling; final: NotFound and other 4xx', () => {
  for (const e of [
    err({ code: 'ECONNREFUSED' }), err({ code: 'ECONNRESET' }), err({ code: 'ETIMEDOUT' }), err({}, 'socket hang up'),
    err({ code: 'SlowDown' }), err({ code: 'InternalError' }), err({ code: 'ServiceUnavailable' }),
    err({ code: 'UnknownError' }, '503'), err({}, 'bad gateway', 'S3Error'),
  ]) assert.equal(isTransientError(e), true, e.message + ' ' + String((e as { code?: string }).code));
  for (const e of [
    err({ code: 'NoSuchKey' }), err({ code: 'NotFound' }), err({ code: 'AccessDenied' }),
    err({ code: 'SignatureDoesNotMatch' }), err({ code: 'UnknownError' }, '400'), 'string',
  ]) assert.equal(isTransientError(e), false, String(e));
});

test('withRetry retries transient failures, rethrows final ones at once, and gives up on budget', async () => {
  let n = 0;
  assert.equal(await withRetry(async () => (++n < 3 ? Promise.reject(err({ code: 'ECONNRESET' })) : 'ok'), { retryForMs: 5000, what: 't', baseDelayMs: 5 }), 'ok');
  assert.equal(n, 3);
  n = 0;
  await assert.rejects(withRetry(async () => { n++; throw err({ code: 'NoSuchKey' }); }, { retryForMs: 5000, what: 't' }), /x/);
  assert.equal(n, 1);
  const t0 = Date.now();
  await assert.rejects(
    withRetry(async () => { throw err({ code: 'ECONNREFUSED' }); }, { retryForMs: 200, what: 't', baseDelayMs: 20 }),
    (e: unknown) => e instanceof RetryExhaustedError && e.attempts > 1,
  );
  assert.ok(Date.now() - t0 < 1000);
});
