import { Server, ServerCredentials, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from '@selftrain/logger';
import { protoFiles, protoRoot } from '@selftrain/proto';

export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export interface GrpcServerOptions {
  /** Fully qualified service name, e.g. selftrain.v1.Teacher (the health service reports it). */
  serviceName: string;
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
  host: string;
  port: number;
  logger: Logger;
}

export interface RunningServer {
  server: Server;
  port: number;
  health: HealthImplementation;
  /** Stops accepting calls, marks the service NOT_SERVING, waits for calls in flight (up to graceMs). */
  shutdown(graceMs?: number): Promise<void>;
}

export async function startGrpcServer(opts: GrpcServerOptions): Promise<RunningServer> {
  const server = new Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  });
  server.addService(opts.definition, opts.implementation);
  const health = new HealthImplementation({ '': 'SERVING', [opts.serviceName]: 'SERVING' });
  health.addToServer(server);
  const reflection = new ReflectionService(protoLoader.loadSync(protoFiles, { includeDirs: [protoRoot] }));
  reflection.addToServer(server);

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${opts.host}:${opts.port}`, ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(new Error(`cannot listen on ${opts.host}:${opts.port}: ${err.message}`)) : resolve(bound),
    );
  });
  opts.logger.info({ port, service: opts.serviceName }, 'listening');

  return {
    server,
    port,
    health,
    shutdown: (graceMs = 10_000) =>
      new Promise<void>((resolve) => {
        health.setStatus('', 'NOT_SERVING');
        health.setStatus(opts.serviceName, 'NOT_SERVING');
        const timer = setTimeout(() => { server.forceShutdown(); resolve(); }, graceMs);
        server.tryShutdown(() => { clearTimeout(timer); resolve(); });
      }),
  };
}
