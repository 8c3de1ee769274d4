import { createHash, timingSafeEqual } from 'node:crypto';
import {
  credentials, InterceptingCall, ResponderBuilder, ServerCredentials, ServerInterceptingCall, ServerListenerBuilder, status,
  type ChannelCredentials, type Interceptor, type ServerInterceptor,
} from '@grpc/grpc-js';

/** What a server demands of its callers. Both parts are optional; absent means plaintext / no token. */
export interface ServerSecurity {
  tls?: { cert: Buffer; key: Buffer; /** Set: mutual TLS, clients must present a certificate signed by this CA. */ clientCa?: Buffer };
  token?: string;
}

/** What a client presents. `tls` set means a TLS channel that trusts `ca` (the system roots when absent). */
export interface ClientSecurity {
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer; /** The name the server certificate must carry, when it differs from the address. */ serverName?: string };
  token?: string;
}

export const AUTHORIZATION_HEADER = 'authorization';

/** Health stays open: kubelet probes and load balancers carry no token. Reflection is not exempt. */
const UNAUTHENTICATED_PATHS = /^\/grpc\.health\.v1\.Health\//;

export function serverCredentials(security: ServerSecurity = {}): ServerCredentials {
  const tls = security.tls;
  if (!tls) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(tls.clientCa ?? null, [{ cert_chain: tls.cert, private_key: tls.key }], tls.clientCa !== undefined);
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Constant time whatever the lengths: both sides are hashed to 32 bytes before comparing. */
export function tokenMatches(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/** Rejects every call but health without `authorization: Bearer <token>`, before the handler runs. */
export function bearerTokenInterceptor(token: string): ServerInterceptor {
  return (method, call) => {
    if (UNAUTHENTICATED_PATHS.test(method.path)) return new ServerInterceptingCall(call);
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        const header = metadata.get(AUTHORIZATION_HEADER)[0];
        const presented = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
        if (presented === undefined) call.sendStatus({ code: status.UNAUTHENTICATED, details: `${method.path}: missing bearer token` });
        else if (!tokenMatches(presented, token)) call.sendStatus({ code: status.UNAUTHENTICATED, details: `${method.path}: invalid bearer token` });
        else next(metadata);
      })
      .build();
    return new ServerInterceptingCall(call, new ResponderBuilder().withStart((next) => next(listener)).build());
  };
}

/** Channel options that make TLS check `serverName` instead of the dialled address. */
export function serverNameOptions(security: ClientSecurity = {}): Record<string, string> {
  const name = security.tls?.serverName;
  return name ? { 'grpc.ssl_target_name_override': name, 'grpc.default_authority': name } : {};
}

/** The security for one replica found under `host`: its certificate names the host, not the IP dialled. */
export function securityForHost(security: ClientSecurity, host: string): ClientSecurity {
  return security.tls ? { ...security, tls: { ...security.tls, serverName: security.tls.serverName ?? host } } : security;
}

export function channelCredentials(security: ClientSecurity = {}): ChannelCredentials {
  const tls = security.tls;
  if (!tls) return credentials.createInsecure();
  return credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null);
}

/** Adds the bearer token to every call's metadata (works on plaintext channels too, unlike call credentials). */
export function bearerTokenClientInterceptor(token: string): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start: (metadata, listener, next) => {
        metadata.set(AUTHORIZATION_HEADER, `Bearer ${token}`);
        next(metadata, listener);
      },
    });
}
