// What the CLI's tests share: a bucket on loopback with the environment that points the CLI at it, and the
// command run in a child process.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { S3ObjectStore, startEmbeddedS3, type EmbeddedS3 } from '@selftrain/storage';

export interface ChildResult { status: number; stdout: string; stderr: string }

export interface TestBucket {
  home: string;
  s3: EmbeddedS3;
  store: S3ObjectStore;
  /** SELFTRAIN_HOME and S3_* for a CLI that should use this bucket. */
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

/** An embedded S3 server in this process, its data and SELFTRAIN_HOME in a fresh temporary directory. */
export async function openTestBucket(name: string): Promise<TestBucket> {
  const home = mkdtempSync(path.join(tmpdir(), `selftrain-${name}-`));
  const s3 = await startEmbeddedS3({ directory: path.join(home, 's3'), port: 0 });
  const store = await S3ObjectStore.connect({ ...s3.config, createBucket: true });
  const c = s3.config;
  const env = { ...process.env, SELFTRAIN_HOME: home, S3_ENDPOINT: `http://${c.endPoint}:${c.port}`, S3_BUCKET: c.bucket, S3_ACCESS_KEY: c.accessKey, S3_SECRET_KEY: c.secretKey };
  return {
    home, s3, store, env,
    close: async () => { store.close(); await s3.close(); rmSync(home, { recursive: true, force: true }); },
  };
}

/** `node ARGS` in a child process. Asynchronous: the S3 server it talks to runs in this process and must keep answering. */
export function runNode(args: string[], env: NodeJS.ProcessEnv): Promise<ChildResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ status: code, stdout, stderr });
    });
  });
}

/** `selftrain ARGS` (dist/cli.js), with node's own flags first (`--require HOOK`). */
export function runCli(args: string[], env: NodeJS.ProcessEnv, nodeFlags: string[] = []): Promise<ChildResult> {
  return runNode([...nodeFlags, path.resolve(__dirname, '..', 'cli.js'), ...args], env);
}
