import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { processMemoryLimit, trainMemoryBudget, TRAIN_MEMORY_SHARE } from './memory-budget';
import { readServiceConfig } from './service-config';

const GiB = 2 ** 30;

test('processMemoryLimit: the cgroup limit (v2 memory.max, v1 limit_in_bytes) when set, else the machine\'s memory', () => {
  const root = mkdtempSync(join(tmpdir(), 'cgroup-'));
  try {
    writeFileSync(join(root, 'memory.max'), `${2 * GiB}\n`);
    assert.deepEqual(processMemoryLimit(root), { bytes: 2 * GiB, source: 'cgroup memory.max' });
    writeFileSync(join(root, 'memory.max'), 'max\n');
    assert.deepEqual(processMemoryLimit(root), { bytes: totalmem(), source: 'the machine\'s memory' });
    rmSync(join(root, 'memory.max'));
    mkdirSync(join(root, 'memory'));
    writeFileSync(join(root, 'memory', 'memory.limit_in_bytes'), `${GiB}\n`);
    assert.deepEqual(processMemoryLimit(root), { bytes: GiB, source: 'cgroup memory/memory.limit_in_bytes' });
    writeFileSync(join(root, 'memory', 'memory.limit_in_bytes'), '9223372036854771712\n');
    assert.equal(processMemoryLimit(root).bytes, totalmem(), 'v1 writes no limit as a huge number');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the training budget: TRAIN_MEMORY_BUDGET_MB when set, else a share of the limit, each naming its source', () => {
  const limit = { bytes: 10 * GiB, source: 'cgroup memory.max' };
  assert.deepEqual(trainMemoryBudget(512, limit), { bytes: 512 * 2 ** 20, source: 'TRAIN_MEMORY_BUDGET_MB' });
  const derived = trainMemoryBudget(undefined, limit);
  assert.equal(derived.bytes, TRAIN_MEMORY_SHARE * 10 * GiB);
  assert.match(derived.source, /80 % of 10\.0 GiB, cgroup memory\.max; TRAIN_MEMORY_BUDGET_MB sets it/);
  const env = { S3_ENDPOINT: 'http://127.0.0.1:9000', S3_ACCESS_KEY: 'a', S3_SECRET_KEY: 'b' };
  assert.equal(readServiceConfig('teacher', { ...env, TRAIN_MEMORY_BUDGET_MB: '2048' }).trainMemoryBudget.bytes, 2 * GiB);
  assert.throws(() => readServiceConfig('teacher', { ...env, TRAIN_MEMORY_BUDGET_MB: '10' }), /TRAIN_MEMORY_BUDGET_MB/);
  assert.equal(readServiceConfig('teacher', env).testComputeFaultAtStep, undefined);
});
