import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import type { Logger } from '@selftrain/logger';
import { startEmbeddedS3, type EmbeddedS3, type StorageConfig } from '@selftrain/storage';

export const SERVICE_NAMES = ['teacher', 'labeler', 'student', 'evaluator'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** The workspace root, found from this file (libs/pipeline/dist). */
export const WORKSPACE_ROOT = path.resolve(__dirname, '../../..');

export interface LocalStack {
  storage: StorageConfig;
  addresses: { teacher: string; student: string; evaluator: string; labelers: string[] };
  processes: { name: string; pid: number; child: ChildProcess; ports: ServicePorts; log: string }[];
  stop(): Promise<void>;
}

/** The same environment the Kubernetes manifests give each service (deploy/), for local processes. */
export function serviceEnvironment(storage: StorageConfig, extra: Record<string, string> = {}): Record<string, string> {
  return {
    S3_ENDPOINT: `${storage.useSSL ? 'https' : 'http'}://${storage.endPoint}:${storage.port}`,
    S3_BUCKET: storage.bucket,
    S3_ACCESS_KEY: storage.accessKey,
    S3_SECRET_KEY: storage.secretKey,
    S3_REGION: storage.region ?? 'us-east-1',
    S3_PREFIX: storage.prefix ?? '',
    GRPC_HOST: '127.0.0.1',
    GRPC_PORT: '0',
    ...extra,
  };
}

/** The ports a service bound (health and metrics only when HEALTH_PORT / METRICS_PORT are set). */
export interface ServicePorts { grpc: number; health?: number; metrics?: number }

/** Starts a service process and resolves once it has bound its port (read from PORT_FILE). */
export async function startServiceProcess(
  name: ServiceName, env: Record<string, string>, runDir: string, logger: Logger, index = 0,
): Promise<{ address: string; child: ChildProcess; ports: ServicePorts; log: string }> {
  const entry = path.join(WORKSPACE_ROOT, 'services', name, 'dist', 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: build first (npm run build)`);
  const portFile = path.join(runDir, `${name}-${index}.port`);
  rmSync(portFile, { force: true });
  rmSync(`${portFile}.json`, { force: true });
  const logFile = path.join(runDir, `${name}-${index}.log`);
  const out = openSync(logFile, 'a');
  const child = spawn(process.execPath, [entry], {
    env: { ...process.env, ...env, PORT_FILE: portFile }, stdio: ['ignore', out, out],
  });
  // The child holds its own copy of the descriptor.
  closeSync(out);
  const deadline = Date.now() + 120_000;
  while (!existsSync(portFile) || readFileSync(portFile, 'utf8') === '') {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode} at start; see ${logFile}`);
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`${name} did not start within 120 s; see ${logFile}`); }
    await new Promise((r) => setTimeout(r, 100));
  }
  const address = `127.0.0.1:${readFileSync(portFile, 'utf8').trim()}`;
  const ports = JSON.parse(readFileSync(`${portFile}.json`, 'utf8')) as ServicePorts;
  logger.debug({ name, address, ports, pid: child.pid, log: logFile }, 'service started');
  return { address, child, ports, log: logFile };
}

/**
 * Everything the loop needs on one machine: an S3-compatible server on loopback (data on disk) unless
 * a storage config is given, and the four services as separate processes (N labelers).
 */
export async function startLocalStack(opts: {
  home: string; labelers: number; logger: Logger; storage?: StorageConfig; serviceEnv?: Record<string, string>;
}): Promise<LocalStack> {
  const runDir = path.join(opts.home, 'services');
  mkdirSync(runDir, { recursive: true });
  let s3: EmbeddedS3 | undefined;
  let storage = opts.storage;
  if (!storage) {
    s3 = await startEmbeddedS3({ directory: path.join(opts.home, 's3'), port: 0, logger: opts.logger });
    storage = s3.config;
  }
  const env = serviceEnvironment(storage, opts.serviceEnv);
  const processes: LocalStack['processes'] = [];
  const stop = async () => {
    await Promise.all(processes.map(({ child }) => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.once('exit', () => { clearTimeout(timer); resolve(); });
      child.kill('SIGTERM');
    })));
    await s3?.close();
  };
  try {
    const names: [ServiceName, number][] = [['teacher', 0], ['student', 0], ['evaluator', 0]];
    for (let i = 0; i < opts.labelers; i++) names.push(['labeler', i]);
    const started = await Promise.all(names.map(async ([name, i]) => {
      const s = await startServiceProcess(name, env, runDir, opts.logger, i);
      processes.push({ name: `${name}-${i}`, pid: s.child.pid ?? 0, child: s.child, ports: s.ports, log: s.log });
      return [name, s.address] as const;
    }));
    const of = (n: ServiceName) => started.filter(([name]) => name === n).map(([, a]) => a);
    return { storage, addresses: { teacher: of('teacher')[0], student: of('student')[0], evaluator: of('evaluator')[0], labelers: of('labeler') }, processes, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
