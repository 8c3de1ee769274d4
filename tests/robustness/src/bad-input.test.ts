// Part 5 of issue 4, "Bad input, at volume": thousands of malformed requests against the four services
// running as real processes. Every answer must be a proper gRPC status, given before the deadline, and
// every process must come out of it alive, SERVING and with its memory where it was.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { status } from '@grpc/grpc-js';
import { SERVICE_NAMES, type ServiceName } from '@selftrain/pipeline';
import { ServiceInfo } from '@selftrain/proto';
import { checkHealth } from '@selftrain/rpc';
import { AnswerTally } from './answer-tally';
import { malformedRequest, METHODS, type MalformedRequest, type MethodUnderTest } from './malformed-requests';
import { RawClient, type Answer } from './raw-client';
import { startRobustnessStack, type RobustnessStack } from './robustness-stack';
import { SeededRandom } from './seeded-random';

/** Change with ROBUSTNESS_SEED=n to explore; a failure names the seed, the method and the request index. */
const SEED = Number(process.env.ROBUSTNESS_SEED ?? 20261201);
const PER_METHOD = 160;
const IN_FLIGHT_PER_SERVICE = 4;
const DEADLINE_MS = 5_000;
/**
 * Proper answers to bad input. OK is allowed (a mutation can leave a request valid) but counted.
 * DATA_LOSS is what naming an object that is not a checkpoint (the seeded manifest) gets: it names the object.
 */
const PROPER = new Set([
  status.OK, status.INVALID_ARGUMENT, status.NOT_FOUND, status.FAILED_PRECONDITION, status.RESOURCE_EXHAUSTED,
  status.OUT_OF_RANGE, status.ALREADY_EXISTS, status.DATA_LOSS,
]);
/** Growth of resident memory from after the first quarter of the requests to the end. */
const MAX_RSS_GROWTH_MIB = 64;

interface Sent { m: MethodUnderTest; index: number; request: MalformedRequest; answer: Answer; field?: string }

let stack: RobustnessStack;
const sent: Sent[] = [];
const memory = new Map<ServiceName, { before: number; warm: number; after: number; peak: number }>();

before(async () => {
  stack = await startRobustnessStack({ LOG_LEVEL: 'warn' });
});

after(async () => {
  await stack?.close();
});

/** Sends one service's requests with a few in flight, sampling its memory after the first quarter. */
async function barrage(name: ServiceName): Promise<void> {
  const svc = stack.services[name];
  const queue = METHODS.filter((m) => m.service === name).flatMap((m) => {
    // One generator per method, so a request's bytes depend only on the seed, the method and its index.
    const r = new SeededRandom(SEED + METHODS.indexOf(m));
    return Array.from({ length: PER_METHOD }, (_, index) => ({ m, index, request: malformedRequest(m, r) }));
  });
  // Interleave methods so every RPC is under fire at the same time.
  queue.sort((a, b) => a.index - b.index);
  const before = svc.memory().rssMiB;
  let warm = 0;
  let next = 0;
  const client = new RawClient(svc.address);
  const worker = async () => {
    while (next < queue.length) {
      const item = queue[next++];
      if (next === Math.floor(queue.length / 4)) warm = svc.memory().rssMiB;
      const answer = item.m.stream
        ? await client.serverStream(item.m.path, item.request.payload, DEADLINE_MS)
        : await client.unary(item.m.path, item.request.payload, DEADLINE_MS);
      sent.push({ ...item, answer });
    }
  };
  try {
    await Promise.all(Array.from({ length: IN_FLIGHT_PER_SERVICE }, worker));
  } finally {
    client.close();
  }
  const m = svc.memory();
  memory.set(name, { before, warm, after: m.rssMiB, peak: m.peakMiB });
}

function describeFailure(s: Sent): string {
  const hex = s.request.payload.subarray(0, 48).toString('hex');
  return `${s.m.service}.${s.m.method} #${s.index} (seed ${SEED}): ${status[s.answer.code]} "${s.answer.details.slice(0, 160)}" after ${s.answer.ms} ms; ` +
    `request: ${s.request.label}; ${s.request.payload.length} bytes ${hex}${s.request.payload.length > 48 ? '…' : ''}`;
}

test(`${PER_METHOD * METHODS.length} malformed requests over every RPC: each gets a proper status before its deadline`, async () => {
  await Promise.all(SERVICE_NAMES.map(barrage));

  const byService = new AnswerTally();
  const byMethod = new AnswerTally();
  for (const s of sent) {
    byService.add(s.m.service, s.answer.code);
    byMethod.add(`${s.m.service}.${s.m.method}`, s.answer.code);
  }
  console.log(`\n${byService.format(`bad input: ${sent.length} malformed requests, seed ${SEED}, answers by status`)}\n`);
  console.log(`${byMethod.format('by method')}\n`);
  for (const [name, m] of memory) {
    console.log(`${name}: RSS ${m.before} MiB before, ${m.warm} MiB after the first quarter, ${m.after} MiB after; peak ${m.peak} MiB`);
  }

  assert.ok(sent.length >= 2000, `only ${sent.length} requests sent`);
  const improper = sent.filter((s) => !PROPER.has(s.answer.code));
  assert.deepEqual(improper.slice(0, 15).map(describeFailure), [], `${improper.length} of ${sent.length} answers were not a proper status`);
  const slow = sent.filter((s) => s.answer.ms > DEADLINE_MS);
  assert.deepEqual(slow.slice(0, 10).map(describeFailure), [], 'answers past the deadline');
  // Every RPC was hit, and by more than one kind of answer: the requests really were malformed.
  for (const m of METHODS) assert.ok(byMethod.total(`${m.service}.${m.method}`) === PER_METHOD, `${m.service}.${m.method}`);
  for (const m of METHODS.filter((x) => x.method !== 'GetInfo')) {
    assert.ok(byMethod.count(`${m.service}.${m.method}`, status.INVALID_ARGUMENT) > PER_METHOD / 10, `${m.service}.${m.method} rejected too few`);
  }
});

test('undecodable bytes are bad input (INVALID_ARGUMENT naming the request and the decoder\'s complaint), not an internal error', () => {
  const corrupted = sent.filter((s) => / random bytes$|invalid wire type|past the end|truncated|overlong|unterminated|nested 100,000|beyond 2\^53/.test(s.request.label));
  const counts = new AnswerTally();
  for (const s of corrupted) counts.add('random bytes and wire-level corruption', s.answer.code);
  console.log(`${counts.format('random bytes and wire-level corruption only')}\n`);
  // Random bytes can happen to decode, truncation can cut at a field boundary, a skipped field can be harmless.
  const undecodable = sent.filter((s) => s.answer.field === 'request');
  console.log(`${undecodable.length} requests refused as undecodable protobuf (INVALID_ARGUMENT, field "request")\n`);
  assert.ok(undecodable.length > 300, `only ${undecodable.length} requests were refused as undecodable`);
  for (const s of undecodable) {
    assert.equal(s.answer.code, status.INVALID_ARGUMENT);
    assert.match(s.answer.details, new RegExp(`^request: is not a valid ${s.m.method} request message: .+`), describeFailure(s));
  }
});

/** The dotted field paths of a request message, as the validators name them (`options.batch_size`, `pseudo_shards[3].key`, `options.scales[0]`). */
function fieldPaths(spec: MethodUnderTest['spec'], prefix = ''): string[] {
  return spec.fields.flatMap((f) => {
    const name = `${prefix}${f.name}`;
    if (typeof f.kind === 'object') return [name, ...fieldPaths(f.kind, f.repeated ? `${name}[].` : `${name}.`)];
    // A repeated scalar is named as a whole or by its element (`options.scales[0]`).
    return f.repeated ? [name, `${name}[]`] : [name];
  });
}

test('every INVALID_ARGUMENT names the offending field of that request (or the request itself)', () => {
  const wrong: string[] = [];
  for (const s of sent.filter((x) => x.answer.code === status.INVALID_ARGUMENT)) {
    const named = (s.answer.field ?? '').replace(/\[\d+\]/g, '[]');
    if (named !== 'request' && !fieldPaths(s.m.spec).includes(named)) wrong.push(`field "${s.answer.field}": ${describeFailure(s)}`);
  }
  assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} answers named no field of the request`);
});

test('no malformed request started a job', () => {
  const started = sent.filter((s) => s.m.method === 'StartTraining' && s.answer.code === status.OK);
  assert.deepEqual(started.map(describeFailure), []);
});

test('every service is still alive, SERVING, answers a good request, and its memory did not keep growing', async () => {
  for (const name of SERVICE_NAMES) {
    const svc = stack.services[name];
    assert.equal(svc.exited(), undefined, `${name} exited during the barrage; see ${svc.logFile}`);
    assert.equal(await checkHealth(svc.address), 'SERVING', name);
    const info = METHODS.find((m) => m.service === name && m.method === 'GetInfo')!;
    const client = new RawClient(svc.address);
    const answer = await client.unary(info.path, Buffer.alloc(0), DEADLINE_MS);
    client.close();
    assert.equal(answer.code, status.OK, `${name} GetInfo: ${answer.details}`);
    assert.equal(ServiceInfo.decode(answer.response!).service, name);
    const m = memory.get(name)!;
    assert.ok(m.after - m.warm < MAX_RSS_GROWTH_MIB, `${name} RSS grew from ${m.warm} to ${m.after} MiB`);
  }
});

test('nothing was logged as an internal failure', () => {
  for (const name of SERVICE_NAMES) {
    const errors = readFileSync(stack.services[name].logFile, 'utf8').split('\n').filter((l) => /"level":(50|60)/.test(l));
    assert.deepEqual(errors.slice(0, 5), [], `${name} logged ${errors.length} error(s)`);
  }
});

test('SIGTERM after the barrage: every process exits 0', async () => {
  for (const name of SERVICE_NAMES) assert.equal(await stack.services[name].stop(), 0, `${name}; see ${stack.services[name].logFile}`);
});
