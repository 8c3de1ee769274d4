import { makeClientConstructor, type ChannelCredentials, type Client, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { channelCredentials, serverNameOptions, type ClientSecurity } from './security';

const HealthClient = makeClientConstructor(healthService as never, 'grpc.health.v1.Health') as unknown as new (
  address: string, creds: ChannelCredentials, options?: object,
) => Client & { check(req: { service: string }, options: { deadline: Date }, cb: (err: ServiceError | null, res: { status: string | number }) => void): void };

/** The standard gRPC health check ("" = the whole server); resolves to SERVING / NOT_SERVING / UNKNOWN. */
export function checkHealth(address: string, service = '', deadlineMs = 5000, security: ClientSecurity = {}): Promise<string> {
  const client = new HealthClient(address, channelCredentials(security), serverNameOptions(security));
  return new Promise<string>((resolve, reject) => {
    client.check({ service }, { deadline: new Date(Date.now() + deadlineMs) }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(typeof res.status === 'number' ? ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'][res.status] : res.status);
    });
  });
}
