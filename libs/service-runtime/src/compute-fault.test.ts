import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '@selftrain/compute';
import { isUnavailable } from '@selftrain/errors';
import { silentLogger } from '@selftrain/logger';
import { ComputeFaultGuard, isComputeBackendFault, wasmOutOfBoundsAccess } from './compute-fault';

test('the test fault is a real trap of the wasm module, and only such traps count as backend faults', async () => {
  await initBackend({ prefer: 'wasm', logger: silentLogger });
  assert.equal(tf.getBackend(), 'wasm');
  let trap: unknown;
  try {
    wasmOutOfBoundsAccess();
  } catch (err) {
    trap = err;
  }
  assert.equal((trap as Error).constructor.name, 'RuntimeError');
  assert.equal((trap as Error).message, 'memory access out of bounds');
  assert.equal(isComputeBackendFault(trap), true);
  assert.equal(isComputeBackendFault(new Error('wrapped', { cause: trap })), true);
  assert.equal(isComputeBackendFault(new Error('memory access out of bounds')), false, 'a message alone is not a trap');
  assert.equal(isComputeBackendFault(new RangeError('Array buffer allocation failed')), false);
  assert.equal(isComputeBackendFault(undefined), false);
});

test('the guard: NOT_SERVING first, jobs recorded, server stopped, then the exit code; once; a call that hit it is UNAVAILABLE', async () => {
  const steps: string[] = [];
  let exited!: (code: number) => void;
  const exit = new Promise<number>((resolve) => (exited = resolve));
  const guard = new ComputeFaultGuard(silentLogger, 4, (code) => { steps.push(`exit ${code}`); exited(code); });
  guard.attach({
    setNotServing: () => steps.push('NOT_SERVING'),
    abandonJobs: async () => { steps.push('jobs recorded'); },
    stopServer: async () => { steps.push('server stopped'); },
  });
  const plain = new Error('bad input');
  assert.equal(guard.translate(plain), plain, 'other errors pass through');
  let trap: unknown;
  try { wasmOutOfBoundsAccess(); } catch (err) { trap = err; }
  const answered = guard.translate(trap);
  assert.ok(isUnavailable(answered), 'answered UNAVAILABLE');
  assert.match((answered as Error).message, /compute backend failed \(memory access out of bounds\); it is restarting/);
  guard.trip(trap, { jobId: 'again' });
  assert.equal(await exit, 4);
  assert.deepEqual(steps, ['NOT_SERVING', 'jobs recorded', 'server stopped', 'exit 4']);
});
