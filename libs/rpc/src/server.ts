import * as path from 'node:path';
import { Server, ServerCredentials, type ServerInterceptor, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from '@selftrain/logger';
import { protoFiles, protoRoot } from '@selftrain/proto';
import { callObserverInterceptor, type CallObserver } from './call-observer';
import { decodeFailuresAsBadInput } from './handlers';
import { bearerTokenInterceptor, serverCredentials, type ServerSecurity } from './security';

export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';
/** The directory that holds grpc-health-check's health/v1/health.proto, for reflection. */
const HEALTH_PROTO_ROOT = path.join(path.dirname(require.resolve('grpc-health-check/package.json')), 'proto');

/**
 * Reflection for what this port serves: its own service and health, so a reflecting client (grpcurl)
 * lists nothing that would answer UNIMPLEMENTED, and can resolve grpc.health.v1.Health/Check.
 */
function reflectionFor(serviceName: string): ReflectionService {
  const pkg = protoLoader.loadSync([...protoFiles, 'health/v1/health.proto'], { includeDirs: [protoRoot, HEALTH_PROTO_ROOT] });
  return new ReflectionService(pkg, { services: [serviceName, HEALTH_SERVICE_NAME] });
}

export interface GrpcServerOptions {
  /** Fully qualified service name, e.g. selftrain.v1.Teacher (the health service reports it). */
  serviceName: string;
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
  host: string;
  port: number;
  logger: Logger;
  /** TLS (optionally mutual) and a bearer token; plaintext and open when absent. */
  security?: ServerSecurity;
  /** Also serve grpc.health.v1 alone, in plaintext, on this port: kubelet gRPC probes cannot do TLS. */
  healthPort?: number;
  observeCall?: CallObserver;
}

export interface RunningServer {
  server: Server;
  port: number;
  /** The bound plaintext health port, when one was asked for. */
  healthPort?: number;
  health: HealthImplementation;
  /** Stops accepting calls, marks the service NOT_SERVING, waits for calls in flight (up to graceMs). */
  shutdown(graceMs?: number): Promise<void>;
}

const SERVER_OPTIONS = {
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
};

function bind(server: Server, host: string, port: number, creds: ServerCredentials): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, creds, (err, bound) =>
      err ? reject(new Error(`cannot listen on ${host}:${port}: ${err.message}`)) : resolve(bound),
    );
  });
}

function stop(server: Server, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => { server.forceShutdown(); resolve(); }, graceMs);
    server.tryShutdown(() => { clearTimeout(timer); resolve(); });
  });
}

export async function startGrpcServer(opts: GrpcServerOptions): Promise<RunningServer> {
  // The observer comes first (next to the transport) so it also sees calls the token check refuses.
  const interceptors: ServerInterceptor[] = [];
  if (opts.observeCall) interceptors.push(callObserverInterceptor(opts.observeCall));
  if (opts.security?.token) interceptors.push(bearerTokenInterceptor(opts.security.token));
  const server = new Server({ ...SERVER_OPTIONS, interceptors });
  // Undecodable request bytes reach the handler and are answered INVALID_ARGUMENT, not INTERNAL.
  server.addService(decodeFailuresAsBadInput(opts.definition), opts.implementation);
  const health = new HealthImplementation({ '': 'SERVING', [opts.serviceName]: 'SERVING' });
  health.addToServer(server);
  reflectionFor(opts.serviceName).addToServer(server);
  const port = await bind(server, opts.host, opts.port, serverCredentials(opts.security));

  let healthServer: Server | undefined;
  let healthPort: number | undefined;
  if (opts.healthPort !== undefined) {
    healthServer = new Server(SERVER_OPTIONS);
    health.addToServer(healthServer);
    healthPort = await bind(healthServer, opts.host, opts.healthPort, ServerCredentials.createInsecure());
  }
  opts.logger.info({ port, healthPort, tls: Boolean(opts.security?.tls), mutualTls: Boolean(opts.security?.tls?.clientCa), token: Boolean(opts.security?.token), service: opts.serviceName }, 'listening');

  return {
    server,
    port,
    healthPort,
    health,
    shutdown: async (graceMs = 10_000) => {
      health.setStatus('', 'NOT_SERVING');
      health.setStatus(opts.serviceName, 'NOT_SERVING');
      await stop(server, graceMs);
      if (healthServer) await stop(healthServer, 1_000);
    },
  };
}
