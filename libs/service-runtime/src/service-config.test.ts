import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputErrors } from '@selftrain/errors';
import { readServiceConfig, redactServiceConfig } from './service-config';

const base = { S3_ENDPOINT: 'http://127.0.0.1:9000', S3_ACCESS_KEY: 'ak', S3_SECRET_KEY: 'sk' };

test('defaults per service, storage parsed from S3_*', () => {
  const c = readServiceConfig('labeler', base);
  assert.equal(c.port, 50052);
  assert.equal(c.storage.endPoint, '127.0.0.1');
  assert.equal(c.storage.port, 9000);
  assert.equal(c.backend, 'auto');
});

test('every problem at once, S3_ENDPOINT required', () => {
  assert.throws(() => readServiceConfig('teacher', { GRPC_PORT: '70000', LOG_LEVEL: 'loud' }), (e: unknown) => {
    assert.ok(e instanceof InputErrors);
    const fields = e.problems.map((p) => p.field);
    assert.ok(fields.includes('GRPC_PORT') && fields.includes('LOG_LEVEL') && fields.includes('S3_ENDPOINT'), fields.join());
    return true;
  });
});

test('secrets are redacted', () => {
  const text = JSON.stringify(redactServiceConfig(readServiceConfig('teacher', base)));
  assert.doesNotMatch(text, /"sk"|"ak"/);
});
