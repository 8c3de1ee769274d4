import { ConfigReader, type Env } from '@selftrain/config';
import { redactStorageConfig, storageConfigFromEnv, type StorageConfig } from '@selftrain/storage';

export interface ServiceConfig {
  service: string;
  host: string;
  port: number;
  /** Where the bound port is written (for port 0 in tests and local runs). */
  portFile?: string;
  storage: StorageConfig;
  maxConcurrentJobs: number;
  maxInFlightCalls: number;
  backend: string;
  logLevel: string;
  /** Seconds a SIGTERM waits for running jobs to checkpoint before the process exits anyway. */
  shutdownGraceSeconds: number;
}

export const DEFAULT_PORTS: Record<string, number> = { teacher: 50051, labeler: 50052, student: 50053, evaluator: 50054 };

/** Every setting a service reads, validated at once; see deploy/ for the same names in manifests. */
export function readServiceConfig(service: string, env: Env = process.env): ServiceConfig {
  const r = new ConfigReader(env);
  const storage = storageConfigFromEnv(env);
  r.add(storage.problems);
  if (!storage.config && storage.problems.length === 0) r.string('S3_ENDPOINT');
  const config: ServiceConfig = {
    service,
    host: r.string('GRPC_HOST', '0.0.0.0'),
    port: r.int('GRPC_PORT', DEFAULT_PORTS[service] ?? 50050, { min: 0, max: 65535 }),
    portFile: r.optional('PORT_FILE'),
    storage: storage.config as StorageConfig,
    maxConcurrentJobs: r.int('MAX_CONCURRENT_JOBS', 1, { min: 1, max: 64 }),
    maxInFlightCalls: r.int('MAX_INFLIGHT_CALLS', 16, { min: 1, max: 10_000 }),
    backend: r.oneOf('SELFTRAIN_BACKEND', ['auto', 'tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'] as const, 'auto'),
    logLevel: r.oneOf('LOG_LEVEL', ['debug', 'info', 'warn', 'error'] as const, 'info'),
    shutdownGraceSeconds: r.int('SHUTDOWN_GRACE_SECONDS', 60, { min: 1, max: 3600 }),
  };
  return r.done(config);
}

export function redactServiceConfig(config: ServiceConfig): object {
  return { ...config, storage: config.storage ? redactStorageConfig(config.storage) : undefined };
}
