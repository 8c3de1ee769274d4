import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InputError } from '@selftrain/errors';
import type { Logger } from '@selftrain/logger';
import { DEFAULT_BUCKET, DEFAULT_REGION, bucketNameProblem, type StorageConfig } from './storage-config';

// s3rver ships no types; these are the parts used here.
interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  headers: Record<string, string | string[] | undefined>;
  status?: number;
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
interface S3rverInstance {
  middleware: KoaMiddleware[];
  httpServer?: Server;
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  on(event: 'error', fn: (err: Error & { status?: number; code?: string }, ctx?: KoaContext) => void): void;
}
type S3rverCtor = new (opts: Record<string, unknown>) => S3rverInstance;
type S3ErrorCtor = new (code: string, message: string, detail?: Record<string, unknown>) => Error;
interface AWSAccountLike {
  createKeyPair(accessKeyId: string, secretAccessKey: string): void;
  revokeAccessKey(accessKeyId: string): void;
  accessKeys: Map<string, string>;
}
interface AWSAccountModule {
  new (id: number, displayName: string): AWSAccountLike;
  registry: Map<string, AWSAccountLike>;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('@20minutes/s3rver') as S3rverCtor;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3Error = require('@20minutes/s3rver/lib/models/error') as S3ErrorCtor;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const AWSAccount = require('@20minutes/s3rver/lib/models/account') as AWSAccountModule;

export const EMBEDDED_ACCESS_KEY = 'selftrain';
export const EMBEDDED_SECRET_KEY = 'selftrain-local-secret';

export interface EmbeddedS3Options {
  /** Where objects live on disk; starting again on the same directory sees them. */
  directory: string;
  /** 0 = any free port. Default 0. */
  port?: number;
  /** Default 127.0.0.1: the embedded server is for this machine only. */
  address?: string;
  accessKey?: string;
  secretKey?: string;
  bucket?: string;
  logger?: Logger;
}

export interface EmbeddedS3 {
  /** A config that S3ObjectStore.connect accepts as is. */
  config: StorageConfig;
  /** 'http://127.0.0.1:PORT' */
  endpoint: string;
  close(): Promise<void>;
}

// s3rver keeps credentials in one process-wide registry; count users so close() revokes only unused keys.
const keyUsers = new Map<string, number>();

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** The access key id a request claims, from any of the three S3 auth mechanisms; null when unsigned. */
function claimedAccessKey(ctx: KoaContext): string | null | undefined {
  const auth = first(ctx.headers.authorization);
  if (auth) {
    const v4 = /Credential=([^/,\s]+)\//.exec(auth);
    if (v4) return v4[1];
    const v2 = /^AWS ([^:\s]+):/.exec(auth);
    return v2 ? v2[1] : undefined;
  }
  const cred = first(ctx.query['X-Amz-Credential']);
  if (cred) return cred.split('/')[0];
  const v2q = first(ctx.query['AWSAccessKeyId']);
  if (v2q) return v2q;
  return null;
}

/**
 * Guards s3rver's gaps: it serves unsigned (anonymous) requests, it accepts every key pair in its
 * process-wide registry (including its built-in S3RVER/S3RVER), and it maps keys straight onto file paths.
 */
function guard(accessKey: string): KoaMiddleware {
  return async (ctx, next) => {
    let path: string;
    try {
      path = decodeURIComponent(ctx.path);
    } catch {
      throw new S3Error('InvalidURI', 'Could not parse the specified URI.');
    }
    if (path.split('/').some((s) => s === '..' || s === '.') || path.includes('\\')) {
      throw new S3Error('InvalidURI', 'Object keys with "." or ".." segments or backslashes are not accepted.');
    }
    const claimed = claimedAccessKey(ctx);
    if (claimed === null) throw new S3Error('AccessDenied', 'Anonymous requests are not accepted.');
    if (claimed !== accessKey) {
      throw new S3Error('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
    }
    await next();
  };
}

function registerKey(accessKey: string, secretKey: string): void {
  const existing = AWSAccount.registry.get(accessKey);
  const users = keyUsers.get(accessKey) ?? 0;
  if (existing && users > 0 && existing.accessKeys.get(accessKey) !== secretKey) {
    throw new InputError('accessKey', `"${accessKey}" is already served by another embedded S3 in this process with a different secret`);
  }
  if (!existing || users === 0) new AWSAccount(Date.now() % 1e12, 'selftrain').createKeyPair(accessKey, secretKey);
  keyUsers.set(accessKey, users + 1);
}

function releaseKey(accessKey: string): void {
  const users = (keyUsers.get(accessKey) ?? 1) - 1;
  if (users > 0) {
    keyUsers.set(accessKey, users);
    return;
  }
  keyUsers.delete(accessKey);
  AWSAccount.registry.get(accessKey)?.revokeAccessKey(accessKey);
}

/**
 * Starts @20minutes/s3rver on loopback with data on disk, signature checks on and anonymous access off,
 * and creates the bucket. For one machine and for tests; a cluster points S3_ENDPOINT at a real server.
 */
export async function startEmbeddedS3(opts: EmbeddedS3Options): Promise<EmbeddedS3> {
  const accessKey = opts.accessKey ?? EMBEDDED_ACCESS_KEY;
  const secretKey = opts.secretKey ?? EMBEDDED_SECRET_KEY;
  const bucket = opts.bucket ?? DEFAULT_BUCKET;
  const address = opts.address ?? '127.0.0.1';
  const problem = bucketNameProblem(bucket);
  if (problem) throw new InputError('bucket', problem);
  if (!opts.directory) throw new InputError('directory', 'is required');
  if (!accessKey || !secretKey) throw new InputError('accessKey', 'access and secret keys must be non-empty');
  const logger = opts.logger?.child({ lib: 'storage', embeddedS3: opts.directory });

  await mkdir(opts.directory, { recursive: true });
  registerKey(accessKey, secretKey);
  let server: S3rverInstance;
  let info: AddressInfo;
  try {
    server = new S3rver({
      address,
      port: opts.port ?? 0,
      directory: opts.directory,
      silent: true,
      allowMismatchedSignatures: false,
      vhostBuckets: false,
      resetOnClose: false,
      configureBuckets: [{ name: bucket }],
    });
    // Koa reports every thrown S3 error here (NoSuchKey included); only server faults are worth a warning.
    server.on('error', (err, ctx) => {
      const status = err.status ?? 500;
      const entry = { code: err.code, status, method: ctx?.method, path: ctx?.path, err: err.message };
      if (status >= 500) logger?.warn(entry, 'embedded s3: request failed');
      else logger?.debug(entry, 'embedded s3: request rejected');
    });
    server.middleware.unshift(guard(accessKey));
    info = await server.run();
  } catch (err) {
    releaseKey(accessKey);
    throw err;
  }

  const host = ['0.0.0.0', '::', ''].includes(address) ? '127.0.0.1' : address;
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${info.port}`;
  logger?.info({ endpoint, bucket }, 'embedded s3: listening');
  let closed = false;
  return {
    endpoint,
    config: {
      endPoint: host, port: info.port, useSSL: false, accessKey, secretKey, bucket, region: DEFAULT_REGION, prefix: '',
    },
    async close() {
      if (closed) return;
      closed = true;
      const done = server.close();
      // Keep-alive sockets would otherwise hold close() open until clients let go.
      server.httpServer?.closeAllConnections();
      await done;
      releaseKey(accessKey);
      logger?.info({ endpoint }, 'embedded s3: closed');
    },
  };
}
