import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { InputError, NotFoundError } from '@selftrain/errors';
import { silentLogger } from '@selftrain/logger';
import { RpcError } from '@selftrain/rpc';
import { resolveReplicas, runOnReplicas } from './labeler-pool';
import { serviceAddressesFromEnv } from './service-clients';

test('a name behind several addresses becomes one replica each (a headless Service), duplicates dropped', async () => {
  const lookup = async (host: string) => {
    if (host === 'labeler.selftrain.svc') return [{ address: '10.0.0.5', family: 4 }, { address: '10.0.0.6', family: 4 }, { address: 'fd00::7', family: 6 }];
    const err = Object.assign(new Error('nope'), { code: 'ENOTFOUND' });
    throw err;
  };
  const replicas = await resolveReplicas(['labeler.selftrain.svc:50052', '10.0.0.5:50052', '[::1]:50099'], lookup);
  assert.deepEqual(replicas, [
    { address: '10.0.0.5:50052', host: 'labeler.selftrain.svc' },
    { address: '10.0.0.6:50052', host: 'labeler.selftrain.svc' },
    { address: '[fd00::7]:50052', host: 'labeler.selftrain.svc' },
    { address: '[::1]:50099', host: '::1' },
  ]);
  await assert.rejects(resolveReplicas(['missing.svc:1'], lookup), (e: unknown) => e instanceof NotFoundError && /missing\.svc \(ENOTFOUND\)/.test(e.message));
  await assert.rejects(resolveReplicas(['no-port'], lookup), (e: unknown) => e instanceof InputError && e.field === 'services.labelers');
});

const unavailable = () => new RpcError(status.UNAVAILABLE, 'connection refused', 'LabelShard');

test('items on a dead replica go to the others, each result exactly once, in-flight bounded per replica', async () => {
  const replicas = [{ address: 'dead' }, { address: 'a' }, { address: 'b' }];
  const inFlight = new Map<string, number>();
  let peak = 0;
  const calls: string[] = [];
  const items = Array.from({ length: 40 }, (_, i) => i);
  const results = await runOnReplicas(replicas, items, async (r, item) => {
    calls.push(`${r.address}:${item}`);
    if (r.address === 'dead') throw unavailable();
    inFlight.set(r.address, (inFlight.get(r.address) ?? 0) + 1);
    peak = Math.max(peak, inFlight.get(r.address)!);
    await new Promise((res) => setTimeout(res, 2));
    inFlight.set(r.address, inFlight.get(r.address)! - 1);
    return item * 10;
  }, { perReplica: 2, maxAttempts: 5, logger: silentLogger, cooldownMs: 10_000 });
  assert.deepEqual(results, items.map((i) => i * 10));
  assert.ok(peak <= 2, `peak in flight per replica ${peak}`);
  // The dead replica rests after its first failures instead of eating the queue.
  assert.ok(calls.filter((c) => c.startsWith('dead')).length <= 2, calls.filter((c) => c.startsWith('dead')).join());
});

test('a request error is not retried elsewhere: it fails the run at once', async () => {
  let calls = 0;
  await assert.rejects(runOnReplicas([{ address: 'a' }, { address: 'b' }], [1, 2, 3], async () => {
    calls += 1;
    throw new InputError('shard', 'bad');
  }, { perReplica: 1, maxAttempts: 5, logger: silentLogger }), InputError);
  assert.ok(calls <= 2);
});

test('when every replica keeps failing, the run fails after maxAttempts with the last error', async () => {
  let calls = 0;
  await assert.rejects(runOnReplicas([{ address: 'a' }], [1], async () => {
    calls += 1;
    throw unavailable();
  }, { perReplica: 1, maxAttempts: 3, logger: silentLogger, cooldownMs: 1 }), (e: unknown) => e instanceof RpcError && e.code === status.UNAVAILABLE);
  assert.equal(calls, 3);
});

test('service addresses from the environment: all four or none', () => {
  assert.equal(serviceAddressesFromEnv({}), undefined);
  assert.deepEqual(serviceAddressesFromEnv({
    SELFTRAIN_TEACHER: 'teacher:50051', SELFTRAIN_STUDENT: 'student:50053', SELFTRAIN_EVALUATOR: 'evaluator:50054', SELFTRAIN_LABELERS: 'labeler:50052, 10.1.2.3:50052',
  }), { teacher: 'teacher:50051', student: 'student:50053', evaluator: 'evaluator:50054', labelers: ['labeler:50052', '10.1.2.3:50052'] });
  assert.throws(() => serviceAddressesFromEnv({ SELFTRAIN_TEACHER: 'teacher:50051' }), (e: unknown) => e instanceof InputError && e.field === 'SELFTRAIN_STUDENT');
});
