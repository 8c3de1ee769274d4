import { readFileSync } from 'node:fs';
import { ConfigReader, type Env } from '@selftrain/config';
import { InputError } from '@selftrain/errors';
import type { ClientSecurity, ServerSecurity } from './security';

/** Shorter tokens are refused at start: a guessable token is worse than an obvious configuration error. */
export const MIN_TOKEN_LENGTH = 16;

function readFile(r: ConfigReader, name: string): Buffer | undefined {
  const file = r.optional(name);
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    r.add([new InputError(name, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)]);
    return undefined;
  }
}

/** GRPC_AUTH_TOKEN_FILE (a mounted Secret; wins) or GRPC_AUTH_TOKEN; surrounding whitespace is not part of it. */
function readToken(r: ConfigReader): string | undefined {
  const fromFile = readFile(r, 'GRPC_AUTH_TOKEN_FILE');
  const token = fromFile !== undefined ? fromFile.toString('utf8').trim() : r.optional('GRPC_AUTH_TOKEN')?.trim();
  if (token === undefined) return undefined;
  const name = fromFile !== undefined ? 'GRPC_AUTH_TOKEN_FILE' : 'GRPC_AUTH_TOKEN';
  if (token.length < MIN_TOKEN_LENGTH) r.add([new InputError(name, `the token must be at least ${MIN_TOKEN_LENGTH} characters`)]);
  else if (!/^[\x21-\x7e]+$/.test(token)) r.add([new InputError(name, 'the token must be printable ASCII without spaces')]);
  return token;
}

/** GRPC_TLS_CERT_FILE + GRPC_TLS_KEY_FILE, both or neither: the server's certificate, or the client's. */
function readCertificatePair(r: ConfigReader, whose: string): { cert?: Buffer; key?: Buffer; set: boolean } {
  const cert = readFile(r, 'GRPC_TLS_CERT_FILE');
  const key = readFile(r, 'GRPC_TLS_KEY_FILE');
  const hasCert = r.optional('GRPC_TLS_CERT_FILE') !== undefined;
  if (hasCert !== (r.optional('GRPC_TLS_KEY_FILE') !== undefined)) {
    r.add([new InputError(hasCert ? 'GRPC_TLS_KEY_FILE' : 'GRPC_TLS_CERT_FILE', `${whose} certificate needs both GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE`)]);
  }
  return { cert, key, set: hasCert };
}

/**
 * A service's side: GRPC_TLS_CERT_FILE + GRPC_TLS_KEY_FILE (both or neither), GRPC_TLS_CLIENT_CA_FILE
 * (mutual TLS), and the token. Problems go to `r`, to be reported with the rest of the configuration.
 */
export function readServerSecurity(r: ConfigReader): ServerSecurity {
  const { cert, key, set: hasCert } = readCertificatePair(r, 'the server');
  const clientCa = readFile(r, 'GRPC_TLS_CLIENT_CA_FILE');
  if (r.optional('GRPC_TLS_CLIENT_CA_FILE') !== undefined && !hasCert) r.add([new InputError('GRPC_TLS_CLIENT_CA_FILE', 'mutual TLS needs the server certificate too (GRPC_TLS_CERT_FILE, GRPC_TLS_KEY_FILE)')]);
  const security: ServerSecurity = {};
  if (cert && key) security.tls = { cert, key, ...(clientCa ? { clientCa } : {}) };
  const token = readToken(r);
  if (token) security.token = token;
  return security;
}

/**
 * A client's side (the driver): GRPC_TLS_CA_FILE turns TLS on and names the CA to trust (GRPC_TLS=true
 * with no CA trusts the system roots); GRPC_TLS_CERT_FILE + GRPC_TLS_KEY_FILE present a client
 * certificate; GRPC_TLS_SERVER_NAME overrides the name checked in the server certificate.
 */
export function readClientSecurity(r: ConfigReader): ClientSecurity {
  const ca = readFile(r, 'GRPC_TLS_CA_FILE');
  const { cert, key, set: hasCert } = readCertificatePair(r, 'a client');
  const serverName = r.optional('GRPC_TLS_SERVER_NAME');
  const tlsOn = r.bool('GRPC_TLS', r.optional('GRPC_TLS_CA_FILE') !== undefined || hasCert);
  const security: ClientSecurity = {};
  if (tlsOn) security.tls = { ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}), ...(serverName ? { serverName } : {}) };
  const token = readToken(r);
  if (token) security.token = token;
  return security;
}

/** The driver's security from the environment, throwing every problem at once. */
export function clientSecurityFromEnv(env: Env = process.env): ClientSecurity {
  const r = new ConfigReader(env);
  return r.done(readClientSecurity(r));
}
