// Item 5 of issue 15: each port's reflection lists what that port serves (its own service and health),
// not all four selftrain services, three of which would answer UNIMPLEMENTED; and the health service
// resolves, so `grpcurl -plaintext host:port grpc.health.v1.Health/Check` works.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { SERVICE_NAMES } from '@selftrain/pipeline';
import { checkHealth } from '@selftrain/rpc';
import { listServices, REFLECTION_PATHS, resolvesSymbol } from './reflection-client';
import { METHODS } from './malformed-requests';
import { RawClient } from './raw-client';
import { startRobustnessStack, type RobustnessStack } from './robustness-stack';

const GRPC_SERVICE = { teacher: 'selftrain.v1.Teacher', labeler: 'selftrain.v1.Labeler', student: 'selftrain.v1.Student', evaluator: 'selftrain.v1.Evaluator' };

let stack: RobustnessStack;

before(async () => {
  stack = await startRobustnessStack({ LOG_LEVEL: 'warn' });
});

after(async () => {
  await stack?.close();
});

test('reflection lists the port\'s own service and grpc.health.v1.Health, nothing else', async () => {
  for (const name of SERVICE_NAMES) {
    for (const path of REFLECTION_PATHS) {
      assert.deepEqual(await listServices(stack.services[name].address, path), ['grpc.health.v1.Health', GRPC_SERVICE[name]].sort(), `${name} ${path}`);
    }
  }
});

test('every service reflection lists answers: GetInfo on it is not UNIMPLEMENTED', async () => {
  for (const name of SERVICE_NAMES) {
    const getInfo = METHODS.find((m) => m.service === name && m.method === 'GetInfo')!;
    const client = new RawClient(stack.services[name].address);
    try {
      const answer = await client.unary(getInfo.path, Buffer.alloc(0), 10_000);
      assert.equal(status[answer.code], 'OK', `${name}: ${answer.details}`);
    } finally {
      client.close();
    }
  }
});

test('grpc.health.v1.Health and its Check resolve through reflection (what grpcurl needs before calling Check)', async () => {
  for (const name of SERVICE_NAMES) {
    const address = stack.services[name].address;
    for (const path of REFLECTION_PATHS) {
      assert.ok(await resolvesSymbol(address, path, 'grpc.health.v1.Health'), `${name} ${path}: grpc.health.v1.Health`);
      assert.ok(await resolvesSymbol(address, path, 'grpc.health.v1.Health.Check'), `${name} ${path}: grpc.health.v1.Health.Check`);
      assert.ok(await resolvesSymbol(address, path, GRPC_SERVICE[name]), `${name} ${path}: ${GRPC_SERVICE[name]}`);
    }
    assert.equal(await checkHealth(address), 'SERVING', name);
  }
});
