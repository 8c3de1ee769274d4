// TLS, mutual TLS and the bearer token on a real gRPC server on loopback, with certificates made by openssl.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { status } from '@grpc/grpc-js';
import { ConfigReader } from '@selftrain/config';
import { InputErrors } from '@selftrain/errors';
import { silentLogger } from '@selftrain/logger';
import { TeacherClient, TeacherService, type ServiceInfo } from '@selftrain/proto';
import { call, createClient } from './client';
import { RpcError } from './error-mapping';
import { checkHealth } from './health-check';
import { tokenMatches, type ClientSecurity, type ServerSecurity } from './security';
import { clientSecurityFromEnv, readServerSecurity } from './security-config';
import { startGrpcServer, type RunningServer } from './server';
import { makeTestPki, type TestPki } from './test-pki';

const TOKEN = 'test-token-0123456789abcdef';
let dir: string;
let pki: TestPki;
const servers: RunningServer[] = [];

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'selftrain-tls-'));
  pki = makeTestPki(dir);
});
after(async () => {
  for (const s of servers) await s.shutdown(100);
  rmSync(dir, { recursive: true, force: true });
});

const info: ServiceInfo = { service: 'teacher', backend: 'none', version: 't', gpu: false, kernels: '' };
const observed: { method: string; code: status }[] = [];

async function serve(security: ServerSecurity, healthPort?: number): Promise<RunningServer> {
  const server = await startGrpcServer({
    serviceName: 'selftrain.v1.Teacher', definition: TeacherService, host: '127.0.0.1', port: 0, logger: silentLogger,
    implementation: { getInfo: (_call: unknown, cb: (e: null, r: ServiceInfo) => void) => cb(null, info) },
    security, healthPort, observeCall: (method, code) => observed.push({ method, code }),
  });
  servers.push(server);
  return server;
}

async function getInfo(port: number, security: ClientSecurity): Promise<ServiceInfo> {
  const client = createClient(TeacherClient, `localhost:${port}`, security);
  try {
    return await call<object, ServiceInfo>(client, client.getInfo as never, 'GetInfo', {}, { deadlineMs: 3000 });
  } finally {
    client.close();
  }
}

const codeOf = (code: status) => (e: unknown) => e instanceof RpcError && e.code === code;

test('a bearer token is required on every call but health, and compared exactly', async () => {
  const { port } = await serve({ token: TOKEN });
  assert.deepEqual(await getInfo(port, { token: TOKEN }), info);
  await assert.rejects(getInfo(port, {}), (e: unknown) => codeOf(status.UNAUTHENTICATED)(e) && /missing bearer token/.test((e as RpcError).details));
  await assert.rejects(getInfo(port, { token: `${TOKEN}x` }), (e: unknown) => codeOf(status.UNAUTHENTICATED)(e) && /invalid bearer token/.test((e as RpcError).details));
  await assert.rejects(getInfo(port, { token: TOKEN.slice(0, -1) }), codeOf(status.UNAUTHENTICATED));
  assert.equal(await checkHealth(`127.0.0.1:${port}`), 'SERVING', 'health needs no token');
  // Refusals are observed too, before any handler runs.
  assert.ok(observed.some((o) => o.method === '/selftrain.v1.Teacher/GetInfo' && o.code === status.UNAUTHENTICATED));
  assert.ok(observed.some((o) => o.method === '/selftrain.v1.Teacher/GetInfo' && o.code === status.OK));
});

test('tokenMatches: equal strings only, whatever the lengths', () => {
  assert.equal(tokenMatches(TOKEN, TOKEN), true);
  assert.equal(tokenMatches('', TOKEN), false);
  assert.equal(tokenMatches(TOKEN + TOKEN, TOKEN), false);
});

test('TLS: a client trusting the CA connects; plaintext and a foreign CA are refused; health has its own plaintext port', async () => {
  const server = await serve({ tls: { cert: pki.read('serverCert'), key: pki.read('serverKey') } }, 0);
  assert.deepEqual(await getInfo(server.port, { tls: { ca: pki.read('ca') } }), info);
  await assert.rejects(getInfo(server.port, {}), codeOf(status.UNAVAILABLE));
  await assert.rejects(getInfo(server.port, { tls: { ca: pki.read('otherCa') } }), codeOf(status.UNAVAILABLE));
  assert.ok(server.healthPort && server.healthPort !== server.port);
  assert.equal(await checkHealth(`127.0.0.1:${server.healthPort}`), 'SERVING');
  assert.equal(await checkHealth(`localhost:${server.port}`, '', 3000, { tls: { ca: pki.read('ca') } }), 'SERVING');
  // The health port serves health only.
  await assert.rejects(getInfo(server.healthPort, {}), codeOf(status.UNIMPLEMENTED));
});

test('mutual TLS: a client without a certificate signed by the CA is refused', async () => {
  const { port } = await serve({ tls: { cert: pki.read('serverCert'), key: pki.read('serverKey'), clientCa: pki.read('ca') }, token: TOKEN });
  const ok = { tls: { ca: pki.read('ca'), cert: pki.read('clientCert'), key: pki.read('clientKey') }, token: TOKEN };
  assert.deepEqual(await getInfo(port, ok), info);
  await assert.rejects(getInfo(port, { tls: { ca: pki.read('ca') }, token: TOKEN }), codeOf(status.UNAVAILABLE));
  await assert.rejects(getInfo(port, { ...ok, token: undefined }), codeOf(status.UNAUTHENTICATED));
});

test('the security settings are read from files, and every mistake is named at once', () => {
  const tokenFile = path.join(dir, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  const r = new ConfigReader({ GRPC_TLS_CERT_FILE: pki.files.serverCert, GRPC_TLS_KEY_FILE: pki.files.serverKey, GRPC_TLS_CLIENT_CA_FILE: pki.files.ca, GRPC_AUTH_TOKEN_FILE: tokenFile });
  const server = r.done(readServerSecurity(r));
  assert.equal(server.token, TOKEN, 'the trailing newline of a mounted Secret is not part of the token');
  assert.ok(server.tls?.clientCa);
  const bad = new ConfigReader({ GRPC_TLS_CERT_FILE: path.join(dir, 'missing.crt'), GRPC_AUTH_TOKEN: 'short' });
  readServerSecurity(bad);
  assert.deepEqual(bad.problems.map((p) => p.field).sort(), ['GRPC_AUTH_TOKEN', 'GRPC_TLS_CERT_FILE', 'GRPC_TLS_KEY_FILE']);
  assert.match(bad.problems.find((p) => p.field === 'GRPC_TLS_CERT_FILE')!.message, /cannot read .*missing\.crt: ENOENT/);
  assert.ok(bad.problems.every((p) => !p.message.includes('short')), 'the token itself is never echoed');
  const client = clientSecurityFromEnv({ GRPC_TLS_CA_FILE: pki.files.ca, GRPC_AUTH_TOKEN: TOKEN, GRPC_TLS_SERVER_NAME: 'teacher.selftrain.svc' });
  assert.equal(client.tls?.serverName, 'teacher.selftrain.svc');
  assert.deepEqual(clientSecurityFromEnv({}), {});
  assert.throws(() => clientSecurityFromEnv({ GRPC_TLS_CERT_FILE: pki.files.clientCert }), (e: unknown) => e instanceof InputErrors && e.problems[0].field === 'GRPC_TLS_KEY_FILE');
});
