import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputErrors } from '@selftrain/errors';
import { readServiceConfig, redactServiceConfig, SERVICE_ENV_VARS } from './service-config';

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

test('SERVICE_ENV_VARS lists exactly the variables a service reads', () => {
  const read = new Set<string>();
  const env = new Proxy({ ...base } as Record<string, string | undefined>, { get: (t, k: string) => { read.add(k); return t[k]; } });
  readServiceConfig('teacher', env);
  assert.deepEqual([...read].sort(), SERVICE_ENV_VARS.map((v) => v.name).sort());
  assert.deepEqual(SERVICE_ENV_VARS.filter((v) => v.required).map((v) => v.name).sort(), ['S3_ACCESS_KEY', 'S3_ENDPOINT', 'S3_SECRET_KEY']);
});

test('health and metrics ports; the token never reaches the start-up log', () => {
  const token = 'a-service-token-0123456789';
  const c = readServiceConfig('evaluator', { ...base, HEALTH_PORT: '8081', METRICS_PORT: '9090', GRPC_AUTH_TOKEN: token });
  assert.equal(c.healthPort, 8081);
  assert.equal(c.metricsPort, 9090);
  assert.equal(c.security.token, token);
  const text = JSON.stringify(redactServiceConfig(c));
  assert.ok(!text.includes(token));
  assert.match(text, /"token":true/);
  assert.equal(readServiceConfig('evaluator', base).healthPort, undefined);
  assert.throws(() => readServiceConfig('evaluator', { ...base, METRICS_PORT: 'x' }), (e: unknown) => e instanceof InputErrors && e.problems[0].field === 'METRICS_PORT');
});
