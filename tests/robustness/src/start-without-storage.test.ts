// Item 4 of issue 15: a service that cannot use its bucket at start (credentials refused, bucket missing,
// endpoint down past S3_RETRY_SECONDS) says so in one JSON log line naming the endpoint, the bucket and
// the reason, never the secret, and exits with the documented code 3; no raw stack on any stream.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { serviceEnvironment, WORKSPACE_ROOT, type ServiceName } from '@selftrain/pipeline';
import { startEmbeddedS3, type EmbeddedS3, type StorageConfig } from '@selftrain/storage';

/** The exit code the README's "Configuration of a service" documents for storage unusable at start. */
const EXIT_STORAGE_UNAVAILABLE = 3;
const WRONG_SECRET = 'not-the-secret-0123456789';

let dir: string;
let s3: EmbeddedS3;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'selftrain-start-'));
  s3 = await startEmbeddedS3({ directory: path.join(dir, 's3'), port: 0 });
});

after(async () => {
  await s3?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Exit { code: number | null; lines: string[]; ms: number }

/** Runs the service's built main until it exits (or kills it after 90 s), collecting stdout and stderr. */
function runUntilExit(name: ServiceName, storage: StorageConfig, extra: Record<string, string> = {}): Promise<Exit> {
  const started = Date.now();
  const child = spawn(process.execPath, [path.join(WORKSPACE_ROOT, 'services', name, 'dist', 'main.js')], {
    env: { ...process.env, ...serviceEnvironment(storage, { LOG_LEVEL: 'info', ...extra }) }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  return new Promise((resolve) => child.on('close', (code) => {
    clearTimeout(timer);
    resolve({ code, lines: out.split('\n').filter((l) => l.trim() !== ''), ms: Date.now() - started });
  }));
}

function assertOneJsonLineNaming(exit: Exit, storage: StorageConfig, reason: RegExp): void {
  const transcript = exit.lines.join('\n');
  assert.equal(exit.code, EXIT_STORAGE_UNAVAILABLE, transcript);
  const parsed = exit.lines.map((line) => {
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      assert.fail(`a line of output is not JSON (a raw stack?): ${line}\n${transcript}`);
    }
  });
  const errors = parsed.filter((l) => l.level === 50);
  assert.equal(errors.length, 1, `one error line, not ${errors.length}:\n${transcript}`);
  const [line] = errors;
  assert.equal(line.endpoint, `http://${storage.endPoint}:${storage.port}`);
  assert.equal(line.bucket, storage.bucket);
  assert.match(String(line.reason), reason);
  assert.equal(line.stack, undefined);
  for (const secret of [storage.secretKey, s3.config.secretKey]) assert.ok(!transcript.includes(secret), `the secret appears in the output:\n${transcript}`);
}

test('credentials the endpoint refuses: one JSON line naming endpoint, bucket and reason, exit 3', async () => {
  const storage = { ...s3.config, secretKey: WRONG_SECRET };
  const exit = await runUntilExit('labeler', storage);
  assertOneJsonLineNaming(exit, storage, /rejected the credentials|denied|SignatureDoesNotMatch|AccessDenied/);
});

test('a bucket that does not exist: one JSON line, exit 3', async () => {
  const storage = { ...s3.config, bucket: 'no-such-bucket' };
  const exit = await runUntilExit('evaluator', storage);
  assertOneJsonLineNaming(exit, storage, /does not exist/);
});

test('an endpoint down for longer than S3_RETRY_SECONDS: retried that long, then one JSON line, exit 3', async () => {
  const storage = { ...s3.config, port: await closedPort() };
  const exit = await runUntilExit('teacher', storage, { S3_RETRY_SECONDS: '2' });
  assertOneJsonLineNaming(exit, storage, /unavailable for \d+ ms .*ECONNREFUSED/);
});
