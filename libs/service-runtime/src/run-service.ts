import { writeFileSync } from 'node:fs';
import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { initBackend, type BackendInfo } from '@selftrain/compute';
import { InputErrors } from '@selftrain/errors';
import { createLogger, type Logger } from '@selftrain/logger';
import { HandlerScope, startGrpcServer } from '@selftrain/rpc';
import { S3ObjectStore, type ObjectStore } from '@selftrain/storage';
import { ServiceMetrics, startMetricsServer, type MetricsServer } from '@selftrain/telemetry';
import { readServiceConfig, redactServiceConfig, type ServiceConfig } from './service-config';

export interface ServiceDeps {
  config: ServiceConfig;
  logger: Logger;
  store: ObjectStore;
  backend: BackendInfo;
  scope: HandlerScope;
  metrics: ServiceMetrics;
}

export interface ServiceParts {
  implementation: UntypedServiceImplementation;
  /** Called on SIGTERM before the server stops: checkpoint or finish running work. */
  drain?(): Promise<void>;
  /** Jobs held by state, for the jobs gauge (training services). */
  jobStates?(): Map<string, number>;
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

/**
 * A service's whole life: validate config (all problems at once, exit 2), pick the compute backend,
 * reach the bucket, serve (with health and reflection), and on SIGTERM/SIGINT stop accepting, let
 * running jobs checkpoint, and exit 0.
 */
export async function runService(spec: ServiceSpec): Promise<void> {
  const bootLogger = createLogger(spec.name);
  let config: ServiceConfig;
  try {
    config = readServiceConfig(spec.name);
  } catch (err) {
    if (err instanceof InputErrors) {
      bootLogger.error({ problems: err.problems.map((p) => p.message) }, 'invalid configuration');
      process.exit(2);
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
  const store = await S3ObjectStore.connect(config.storage, logger);
  const scope = new HandlerScope(logger, config.maxInFlightCalls);
  const methodPaths = Object.values(spec.definition).map((m) => m.path);
  const metrics = new ServiceMetrics(spec.name, methodPaths, () => parts.jobStates?.() ?? new Map());
  const parts = spec.create({ config, logger, store, backend, scope, metrics });
  const server = await startGrpcServer({
    serviceName: spec.serviceName, definition: spec.definition, implementation: parts.implementation,
    host: config.host, port: config.port, logger, security: config.security, healthPort: config.healthPort,
    observeCall: metrics.observeCall,
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
      process.exit(1);
    }, config.shutdownGraceSeconds * 1000);
    await parts.drain?.();
    await server.shutdown(5_000);
    await metricsServer?.close();
    clearTimeout(force);
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
