import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputErrors } from '@selftrain/errors';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuBudget } from './cpu-budget';
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

test('cpuBudget caps the cores by the cgroup CPU quota (v2 cpu.max, v1 cfs files) and ignores an unlimited one', () => {
  const cores = availableParallelism();
  const root = mkdtempSync(join(tmpdir(), 'cgroup-'));
  try {
    writeFileSync(join(root, 'cpu.max'), '150000 100000\n');
    assert.equal(cpuBudget(root), Math.min(cores, 2), '1.5 CPUs of quota keep 2 threads busy');
    writeFileSync(join(root, 'cpu.max'), 'max 100000\n');
    assert.equal(cpuBudget(root), cores);
    rmSync(join(root, 'cpu.max'));
    mkdirSync(join(root, 'cpu'));
    writeFileSync(join(root, 'cpu', 'cpu.cfs_quota_us'), '50000\n');
    writeFileSync(join(root, 'cpu', 'cpu.cfs_period_us'), '100000\n');
    assert.equal(cpuBudget(root), 1);
    writeFileSync(join(root, 'cpu', 'cpu.cfs_quota_us'), '-1\n');
    assert.equal(cpuBudget(root), cores, 'v1 marks no limit with -1');
    assert.equal(cpuBudget(join(root, 'missing')), cores);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('TRAIN_THREADS sets the training threads; 0 or unset means the CPU budget; a bad value is named', () => {
  const env = base;
  assert.equal(readServiceConfig('student', { ...env, TRAIN_THREADS: '3' }).trainThreads, 3);
  assert.equal(readServiceConfig('student', env).trainThreads, cpuBudget());
  assert.throws(() => readServiceConfig('student', { ...env, TRAIN_THREADS: 'two' }), /TRAIN_THREADS/);
});
