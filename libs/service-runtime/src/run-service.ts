import { writeFileSync } from 'node:fs';
import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { initBackend, type BackendInfo } from '@selftrain/compute';
import { InputErrors } from '@selftrain/errors';
import { createLogger, type Logger } from '@selftrain/logger';
import { HandlerScope, readLimitFor, startGrpcServer } from '@selftrain/rpc';
import { endpointUrl, S3ObjectStore, type ObjectStore } from '@selftrain/storage';
import { ServiceMetrics, startMetricsServer, type MetricsServer } from '@selftrain/telemetry';
import { ComputeFaultGuard } from './compute-fault';
import { readServiceConfig, redactServiceConfig, type ServiceConfig } from './service-config';

export interface ServiceDeps {
  config: ServiceConfig;
  logger: Logger;
  store: ObjectStore;
  backend: BackendInfo;
  scope: HandlerScope;
  metrics: ServiceMetrics;
  /** Where a fault of the compute backend is reported: the process goes down (see ComputeFaultGuard). */
  faults: ComputeFaultGuard;
}

export interface ServiceParts {
  implementation: UntypedServiceImplementation;
  /** Called on SIGTERM before the server stops: checkpoint or finish running work. */
  drain?(): Promise<void>;
  /** Jobs held by state, for the jobs gauge (training services). */
  jobStates?(): Map<string, number>;
  /** The compute backend failed: record the running jobs for another replica, without checkpointing. */
  abandon?(): Promise<void>;
}

export interface ServiceSpec {
  /** Short name: teacher, labeler, student, evaluator. */
  name: string;
  /** Fully qualified gRPC service name. */
  serviceName: string;
  definition: ServiceDefinition;
  purpose: 'train' | 'infer';
  create(deps: ServiceDeps): ServiceParts;
}

/** How a service process ends; the README's "Configuration of a service" documents each. */
export const EXIT_CODES = {
  /** SIGTERM/SIGINT: drained and stopped. */
  stopped: 0,
  /** Anything else that stops a start (a port already taken, no compute backend), or a drain over its grace. */
  failed: 1,
  /** The configuration is invalid: every problem is logged at once. */
  invalidConfig: 2,
  /** The bucket cannot be used at start: credentials refused, bucket missing, endpoint down past S3_RETRY_SECONDS. */
  storageUnavailable: 3,
  /**
   * The compute backend failed (a wasm trap: out-of-bounds access, abort): health went NOT_SERVING, the
   * running jobs were recorded for the next Start elsewhere, and the process exits for a fresh backend.
   */
  computeBackendFault: 4,
} as const;

/** How long a process whose compute backend failed lets calls in flight finish before it exits. */
const FAULT_GRACE_MS = 2_000;

/** The storage failure for the one log line a service dies with: endpoint, bucket and reason; never the secret. */
export function storageStartFailure(config: ServiceConfig, err: unknown): { endpoint: string; bucket: string; reason: string; code?: string } {
  const storage = config.storage;
  let reason = err instanceof Error ? err.message : String(err);
  // Our messages never carry it, but a storage server's may echo anything it was sent.
  if (storage.secretKey) reason = reason.split(storage.secretKey).join('[redacted]');
  const code = (err as { code?: unknown } | null)?.code;
  return { endpoint: endpointUrl(storage), bucket: storage.bucket, reason, ...(typeof code === 'string' ? { code } : {}) };
}

/**
 * Sockets to the bucket: one for every call admitted at once and every running job. With fewer, calls
 * stalled on a slow bucket would hold every socket, and the cheap reads admitted beside them (GetJob,
 * WatchJob) would queue behind them until their deadlines.
 */
export function storageSockets(config: ServiceConfig): number {
  return config.maxInFlightCalls + readLimitFor(config.maxInFlightCalls) + config.maxConcurrentJobs;
}

/**
 * A service's whole life: validate config (all problems at once, exit 2), pick the compute backend,
 * reach the bucket (exit 3 when it cannot), serve (with health and reflection), and on SIGTERM/SIGINT
 * stop accepting, let running jobs checkpoint, and exit 0; a broken compute backend exits 4. Every way out is one JSON log line and an
 * exit code of EXIT_CODES, never a raw stack.
 */
export async function runService(spec: ServiceSpec): Promise<void> {
  const bootLogger = createLogger(spec.name);
  try {
    await serve(spec, bootLogger);
  } catch (err) {
    bootLogger.error({ err }, 'start failed');
    process.exit(EXIT_CODES.failed);
  }
}

async function serve(spec: ServiceSpec, bootLogger: Logger): Promise<void> {
  let config: ServiceConfig;
  try {
    config = readServiceConfig(spec.name);
  } catch (err) {
    if (err instanceof InputErrors) {
      bootLogger.error({ problems: err.problems.map((p) => p.message) }, 'invalid configuration');
      process.exit(EXIT_CODES.invalidConfig);
    }
    throw err;
  }
  const logger = createLogger(spec.name, config.logLevel);
  logger.info({ config: redactServiceConfig(config) }, 'starting');
  process.env.SELFTRAIN_BACKEND = config.backend;
  process.env.SELFTRAIN_NATIVE_KERNELS = config.nativeKernels; // read by the compute lib, in every thread
  const backend = await initBackend({ purpose: spec.purpose, logger });
  logger.info({ backend: backend.name, package: backend.package, gpu: backend.gpu, kernels: backend.kernels,
    nativeUnavailable: backend.nativeUnavailable, tried: backend.tried }, 'compute backend');
  let store: S3ObjectStore;
  try {
    store = await S3ObjectStore.connect({ ...config.storage, maxSockets: storageSockets(config) }, logger);
  } catch (err) {
    logger.error(storageStartFailure(config, err), 'storage unusable at start; exiting');
    process.exit(EXIT_CODES.storageUnavailable);
  }
  const scope = new HandlerScope(logger, config.maxInFlightCalls);
  const faults = new ComputeFaultGuard(logger, EXIT_CODES.computeBackendFault);
  scope.translateError = (err) => faults.translate(err);
  const methodPaths = Object.values(spec.definition).map((m) => m.path);
  const metrics = new ServiceMetrics(spec.name, methodPaths, () => parts.jobStates?.() ?? new Map());
  const parts = spec.create({ config, logger, store, backend, scope, metrics, faults });
  const server = await startGrpcServer({
    serviceName: spec.serviceName, definition: spec.definition, implementation: parts.implementation,
    host: config.host, port: config.port, logger, security: config.security, healthPort: config.healthPort,
    observeCall: metrics.observeCall,
  });
  faults.attach({
    setNotServing: () => {
      server.health.setStatus('', 'NOT_SERVING');
      server.health.setStatus(spec.serviceName, 'NOT_SERVING');
    },
    abandonJobs: parts.abandon,
    stopServer: () => server.shutdown(FAULT_GRACE_MS),
  });
  let metricsServer: MetricsServer | undefined;
  if (config.metricsPort !== undefined) metricsServer = await startMetricsServer(metrics, config.host, config.metricsPort, logger);
  // Local runs read the bound ports back: every port in PORT_FILE.json, then the gRPC port in PORT_FILE (the signal).
  if (config.portFile) {
    writeFileSync(`${config.portFile}.json`, JSON.stringify({ grpc: server.port, health: server.healthPort, metrics: metricsServer?.port }));
    writeFileSync(config.portFile, String(server.port));
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining running work');
    const force = setTimeout(() => {
      logger.error({ graceSeconds: config.shutdownGraceSeconds }, 'shutdown grace period over; exiting');
      process.exit(EXIT_CODES.failed);
    }, config.shutdownGraceSeconds * 1000);
    await parts.drain?.();
    await server.shutdown(5_000);
    await metricsServer?.close();
    clearTimeout(force);
    logger.info('stopped');
    process.exit(EXIT_CODES.stopped);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
