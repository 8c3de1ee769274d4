import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, credentials, Metadata, Server, ServerCredentials, status, type ServiceError } from '@grpc/grpc-js';
import { NotFoundError, UnavailableError } from '@selftrain/errors';
import { silentLogger } from '@selftrain/logger';
import { GetJobRequest, TeacherService, type JobEvent, type JobStatus, type WatchJobRequest } from '@selftrain/proto';
import { decodeFailuresAsBadInput, HandlerScope, readLimitFor, serverStream, unary } from './handlers';

const identity = (b: Buffer) => b;
// A tag with wire type 7, which no protobuf decoder accepts.
const UNDECODABLE = Buffer.from([0x0f, 0x01]);

async function withServer(fn: (client: Client) => Promise<void>, setUp: (scope: HandlerScope) => void = () => {}): Promise<void> {
  const scope = new HandlerScope(silentLogger, 4);
  setUp(scope);
  const server = new Server();
  const notFound = async (req: { jobId: string }) => { throw new NotFoundError(`job ${req.jobId}`); };
  server.addService(decodeFailuresAsBadInput(TeacherService), {
    getJob: unary<GetJobRequest, JobStatus>(scope, 'GetJob', notFound),
    watchJob: serverStream<WatchJobRequest, JobEvent>(scope, 'WatchJob', notFound),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  try {
    await fn(client);
  } finally {
    client.close();
    server.forceShutdown();
  }
}

function unaryStatus(client: Client, path: string, payload: Buffer): Promise<ServiceError | null> {
  return new Promise((resolve) => client.makeUnaryRequest(path, identity, identity, payload, new Metadata(), { deadline: Date.now() + 5000 }, (err) => resolve(err)));
}

function streamStatus(client: Client, path: string, payload: Buffer): Promise<{ code: status; details: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const call = client.makeServerStreamRequest(path, identity, identity, payload, new Metadata(), { deadline: Date.now() + 5000 });
    call.on('error', () => {});
    call.on('status', (s) => resolve({ code: s.code, details: s.details, ms: Date.now() - started }));
  });
}

test('undecodable request bytes are INVALID_ARGUMENT naming the request, for unary calls and streams', async () => {
  await withServer(async (client) => {
    const err = await unaryStatus(client, TeacherService.getJob.path, UNDECODABLE);
    assert.equal(err?.code, status.INVALID_ARGUMENT, err?.details);
    assert.match(err!.details, /^request: is not a valid GetJob request message/);
    assert.equal(err!.metadata.get('selftrain-field')[0], 'request');
    const s = await streamStatus(client, TeacherService.watchJob.path, UNDECODABLE);
    assert.equal(s.code, status.INVALID_ARGUMENT, s.details);
  });
});

test('a failing stream ends with its status at once, not at the deadline', async () => {
  await withServer(async (client) => {
    const s = await streamStatus(client, TeacherService.watchJob.path, Buffer.from([0x0a, 0x01, 0x78]));
    assert.equal(s.code, status.NOT_FOUND, s.details);
    assert.equal(s.details, 'job x not found');
    assert.ok(s.ms < 2000, `took ${s.ms} ms`);
  });
});

test('read calls have their own admission limit: a scope whose work slots are all taken still admits reads', () => {
  const scope = new HandlerScope(silentLogger, 2, 3);
  const work = [scope.admit('LabelShard'), scope.admit('LabelShard')];
  assert.throws(() => scope.admit('LabelShard'), /^OverloadedError: LabelShard: 2 calls in flight \(limit 2\); retry later$/);
  const reads = [scope.admit('GetInfo', 'read'), scope.admit('GetJob', 'read'), scope.admit('GetInfo', 'read')];
  assert.throws(() => scope.admit('GetInfo', 'read'), /GetInfo: 3 read calls in flight \(limit 3\); retry later/);
  for (const release of [...work, ...reads]) {
    release();
    release(); // a second release of the same call frees nothing more
  }
  assert.doesNotThrow(() => [scope.admit('LabelShard'), scope.admit('LabelShard'), scope.admit('GetInfo', 'read')]);
  assert.throws(() => scope.admit('LabelShard'), /limit 2/);
  assert.equal(readLimitFor(16), 64);
});

test('a handler\'s error is answered as the scope translates it (the runtime answers a compute fault UNAVAILABLE)', async () => {
  const request = Buffer.from(GetJobRequest.encode({ jobId: 'j' }).finish());
  await withServer(async (client) => {
    const unaryErr = await unaryStatus(client, '/selftrain.v1.Teacher/GetJob', request);
    assert.equal(unaryErr?.code, status.UNAVAILABLE);
    assert.equal(unaryErr?.details, 'job j: the backend broke');
    const streamed = await streamStatus(client, '/selftrain.v1.Teacher/WatchJob', request);
    assert.equal(streamed.code, status.UNAVAILABLE);
  }, (scope) => {
    scope.translateError = (err) => (err instanceof NotFoundError ? new UnavailableError(`${err.what}: the backend broke`) : err);
  });
});
