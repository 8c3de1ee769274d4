import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serviceAddressesFromEnv } from '@selftrain/pipeline';
import { clientSecurityFromEnv } from '@selftrain/rpc';
import * as serviceRuntime from '@selftrain/service-runtime';
import { storageConfigFromEnv } from '@selftrain/storage';
import { DRIVER_ENV_VARS, SERVICE_ENV_VARS } from './env-contract';

/** The names a function reads from the environment it is given. */
function namesRead(fn: (env: Record<string, string | undefined>) => unknown, env: Record<string, string>): string[] {
  const read = new Set<string>();
  const proxy = new Proxy({ ...env } as Record<string, string | undefined>, { get: (t, k) => { if (typeof k === 'string') read.add(k); return t[k as string]; } });
  try { fn(proxy); } catch { /* only the names matter */ }
  return [...read];
}

const S3 = { S3_ENDPOINT: 'http://127.0.0.1:9000', S3_ACCESS_KEY: 'a', S3_SECRET_KEY: 's' };

test('the services contract: every variable readServiceConfig reads, S3 endpoint and keys required', () => {
  const read = namesRead((env) => serviceRuntime.readServiceConfig('teacher', env), S3);
  assert.deepEqual(read.filter((n) => !SERVICE_ENV_VARS.some((v) => v.name === n)), []);
  assert.deepEqual(SERVICE_ENV_VARS.filter((v) => v.required).map((v) => v.name).sort(), ['S3_ACCESS_KEY', 'S3_ENDPOINT', 'S3_SECRET_KEY']);
});

test("the driver's contract covers what its storage, address and security settings read", () => {
  const read = [
    ...namesRead((env) => storageConfigFromEnv(env), S3),
    ...namesRead((env) => serviceAddressesFromEnv(env), { SELFTRAIN_TEACHER: 't:1' }),
    ...namesRead((env) => clientSecurityFromEnv(env), {}),
  ];
  const known = new Set(DRIVER_ENV_VARS.map((v) => v.name));
  // S3_CREATE_BUCKET: storageConfigFromEnv reads it, but the CLI always creates a missing bucket.
  assert.deepEqual([...new Set(read)].filter((n) => !known.has(n) && n !== 'S3_CREATE_BUCKET'), []);
  assert.deepEqual(DRIVER_ENV_VARS.filter((v) => v.required).map((v) => v.name).sort(),
    ['S3_ACCESS_KEY', 'S3_ENDPOINT', 'S3_SECRET_KEY', 'SELFTRAIN_EVALUATOR', 'SELFTRAIN_LABELERS', 'SELFTRAIN_STUDENT', 'SELFTRAIN_TEACHER']);
});
