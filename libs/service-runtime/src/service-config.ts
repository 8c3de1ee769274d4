import { INFERENCE_ENGINES, type InferenceEngineChoice } from '@selftrain/compute';
import { ConfigReader, type Env } from '@selftrain/config';
import { readServerSecurity, type ServerSecurity } from '@selftrain/rpc';
import { redactStorageConfig, storageConfigFromEnv, type StorageConfig } from '@selftrain/storage';
import { cpuBudget } from './cpu-budget';
import { trainMemoryBudget } from './memory-budget';

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
  /** auto: native OpenBLAS kernels under wasm where they load; off: the wasm kernels only */
  nativeKernels: string;
  /** What runs a classification checkpoint's inference in the labeler and the evaluator (classificationEngine). */
  inferenceEngine: InferenceEngineChoice;
  /** Threads a training job splits its batches over on wasm (TRAIN_THREADS; 0 there = every core the process may use). */
  trainThreads: number;
  /** Bytes the process's training jobs may use together, and where the figure comes from (TRAIN_MEMORY_BUDGET_MB, or the memory limit). */
  trainMemoryBudget: { bytes: number; source: string };
  /**
   * Test-only (SELFTRAIN_TEST_COMPUTE_FAULT_AT_STEP): at this training step the service makes its wasm
   * backend read past the end of its memory, so the tests can see what a real fault of the compute
   * backend does to the process. Never set in deployments.
   */
  testComputeFaultAtStep?: number;
  logLevel: string;
  /** Seconds a SIGTERM waits for running jobs to checkpoint before the process exits anyway. */
  shutdownGraceSeconds: number;
  /** A job's owner renews its lease in the bucket every third of this; another replica takes over a job not renewed for this long. */
  jobLeaseSeconds: number;
  security: ServerSecurity;
  /** A plaintext port serving grpc.health.v1 alone (kubelet probes cannot speak TLS). */
  healthPort?: number;
  /** Prometheus metrics at http://host:port/metrics. */
  metricsPort?: number;
}

/** Every variable a service reads, for deploy/ to check its manifests against (names and whether required). */
export const SERVICE_ENV_VARS: { name: string; required: boolean; description: string }[] = [
  { name: 'S3_ENDPOINT', required: true, description: 'S3 endpoint URL, http(s)://host[:port]' },
  { name: 'S3_ACCESS_KEY', required: true, description: 'S3 access key' },
  { name: 'S3_SECRET_KEY', required: true, description: 'S3 secret key' },
  { name: 'S3_BUCKET', required: false, description: 'bucket (default selftrain)' },
  { name: 'S3_REGION', required: false, description: 'region (default us-east-1)' },
  { name: 'S3_PREFIX', required: false, description: 'key prefix every object is confined to' },
  { name: 'S3_CREATE_BUCKET', required: false, description: 'create the bucket when missing (default false)' },
  { name: 'S3_RETRY_SECONDS', required: false, description: 'retry transient S3 failures this long before failing UNAVAILABLE (default 30)' },
  { name: 'GRPC_HOST', required: false, description: 'listen address (default 0.0.0.0)' },
  { name: 'GRPC_PORT', required: false, description: 'gRPC port (default 50051 teacher, 50052 labeler, 50053 student, 50054 evaluator; 0 = any)' },
  { name: 'PORT_FILE', required: false, description: 'write the bound port here (local runs)' },
  { name: 'MAX_CONCURRENT_JOBS', required: false, description: 'training jobs run at once (default 1)' },
  { name: 'MAX_INFLIGHT_CALLS', required: false, description: 'calls admitted at once before RESOURCE_EXHAUSTED (default 16)' },
  { name: 'SELFTRAIN_BACKEND', required: false, description: 'auto | tfjs-node-gpu | tfjs-node | wasm | cpu (default auto)' },
  { name: 'SELFTRAIN_NATIVE_KERNELS', required: false, description: 'auto | off: on wasm, run convs and matmuls on the native OpenBLAS kernels where they load (default auto)' },
  { name: 'SELFTRAIN_INFERENCE_ENGINE', required: false, description: `${INFERENCE_ENGINES.join(' | ')}: what runs classification checkpoints in the labeler and evaluator (default auto: onnxruntime on a CPU backend, TF.js on a GPU one)` },
  { name: 'TRAIN_THREADS', required: false, description: 'threads a wasm training job splits each batch over (default 0 = the CPUs the process may use, cgroup quota included)' },
  { name: 'TRAIN_MEMORY_BUDGET_MB', required: false, description: 'memory the training jobs of a process may use together; a job whose estimate does not fit is refused (default 80 % of the cgroup memory limit, else of the machine\'s memory)' },
  { name: 'SELFTRAIN_TEST_COMPUTE_FAULT_AT_STEP', required: false, description: 'test-only: at this training step the wasm backend makes a real out-of-bounds access (never set in deployments)' },
  { name: 'LOG_LEVEL', required: false, description: 'debug | info | warn | error (default info)' },
  { name: 'SHUTDOWN_GRACE_SECONDS', required: false, description: 'SIGTERM waits this long for jobs to checkpoint (default 60)' },
  { name: 'JOB_LEASE_SECONDS', required: false, description: 'a job not renewed by its replica this long is taken over by the next Start (default 30)' },
  { name: 'GRPC_TLS_CERT_FILE', required: false, description: 'server certificate (PEM); with GRPC_TLS_KEY_FILE turns TLS on' },
  { name: 'GRPC_TLS_KEY_FILE', required: false, description: 'server private key (PEM)' },
  { name: 'GRPC_TLS_CLIENT_CA_FILE', required: false, description: 'require client certificates signed by this CA (mutual TLS)' },
  { name: 'GRPC_AUTH_TOKEN_FILE', required: false, description: 'bearer token required on every RPC but health (file wins over GRPC_AUTH_TOKEN)' },
  { name: 'GRPC_AUTH_TOKEN', required: false, description: 'bearer token, from the environment' },
  { name: 'HEALTH_PORT', required: false, description: 'plaintext gRPC health-only port for probes (unset: none)' },
  { name: 'METRICS_PORT', required: false, description: 'Prometheus /metrics port (unset: none; 0 = any)' },
];

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
    nativeKernels: r.oneOf('SELFTRAIN_NATIVE_KERNELS', ['auto', 'off'] as const, 'auto'),
    inferenceEngine: r.oneOf('SELFTRAIN_INFERENCE_ENGINE', INFERENCE_ENGINES, 'auto'),
    trainThreads: r.int('TRAIN_THREADS', 0, { min: 0, max: 256 }) || cpuBudget(),
    trainMemoryBudget: trainMemoryBudget(r.optional('TRAIN_MEMORY_BUDGET_MB') === undefined ? undefined : r.int('TRAIN_MEMORY_BUDGET_MB', 0, { min: 64, max: 2 ** 30 })),
    testComputeFaultAtStep: r.optional('SELFTRAIN_TEST_COMPUTE_FAULT_AT_STEP') === undefined ? undefined : r.int('SELFTRAIN_TEST_COMPUTE_FAULT_AT_STEP', 0, { min: 1 }),
    logLevel: r.oneOf('LOG_LEVEL', ['debug', 'info', 'warn', 'error'] as const, 'info'),
    shutdownGraceSeconds: r.int('SHUTDOWN_GRACE_SECONDS', 60, { min: 1, max: 3600 }),
    jobLeaseSeconds: r.int('JOB_LEASE_SECONDS', 30, { min: 1, max: 3600 }),
    security: readServerSecurity(r),
    healthPort: optionalPort(r, 'HEALTH_PORT'),
    metricsPort: optionalPort(r, 'METRICS_PORT'),
  };
  return r.done(config);
}

function optionalPort(r: ConfigReader, name: string): number | undefined {
  return r.optional(name) === undefined ? undefined : r.int(name, 0, { min: 0, max: 65535 });
}

/** For the start-up log line: no keys, no token, no private key; only whether each is set. */
export function redactServiceConfig(config: ServiceConfig): object {
  const { security, ...rest } = config;
  return {
    ...rest,
    storage: config.storage ? redactStorageConfig(config.storage) : undefined,
    security: { tls: Boolean(security?.tls), mutualTls: Boolean(security?.tls?.clientCa), token: Boolean(security?.token) },
  };
}
