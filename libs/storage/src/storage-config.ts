import { InputError } from '@selftrain/errors';
import { validatePrefix } from './keys';

export interface StorageConfig {
  endPoint: string;
  port: number;
  useSSL: boolean;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region?: string;
  /** Every key the store touches lives under this prefix ('' = the whole bucket). */
  prefix?: string;
  /** Create the bucket at connect when it is missing (otherwise connect fails). */
  createBucket?: boolean;
  /** Total time one operation may spend retrying transient failures. Default 30000. */
  retryForMs?: number;
  /** A request whose socket is idle this long fails (and is retried). Default 60000. */
  requestTimeoutMs?: number;
  /** Sockets open to the endpoint at once; requests beyond wait for one. Default 16. */
  maxSockets?: number;
}

export const DEFAULT_BUCKET = 'selftrain';
export const DEFAULT_REGION = 'us-east-1';

// S3 bucket naming rules (the DNS-compatible subset every S3 server accepts).
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Returns why `bucket` is not a valid S3 bucket name, or undefined. */
export function bucketNameProblem(bucket: string): string | undefined {
  if (!BUCKET_RE.test(bucket)) return `"${bucket}" must be 3-63 characters of a-z, 0-9, "." and "-", starting and ending with a letter or digit`;
  if (bucket.includes('..')) return `"${bucket}" must not contain ".."`;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(bucket)) return `"${bucket}" must not look like an IP address`;
  return undefined;
}

/** "http://host:port", for messages and logs. */
export function endpointUrl(config: Pick<StorageConfig, 'endPoint' | 'port' | 'useSSL'>): string {
  const host = config.endPoint.includes(':') ? `[${config.endPoint}]` : config.endPoint;
  return `${config.useSSL ? 'https' : 'http'}://${host}:${config.port}`;
}

/**
 * Reads S3_ENDPOINT (http(s)://host[:port]), S3_BUCKET, S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION, S3_PREFIX,
 * S3_CREATE_BUCKET, S3_RETRY_SECONDS (default 30). With S3_ENDPOINT unset there is no config: the caller runs the embedded server.
 * Every problem is reported at once, so one restart fixes them all.
 */
export function storageConfigFromEnv(env: Record<string, string | undefined> = process.env): {
  config?: StorageConfig;
  problems: InputError[];
} {
  const raw = env.S3_ENDPOINT?.trim();
  if (!raw) return { config: undefined, problems: [] };
  const problems: InputError[] = [];

  let endPoint = '';
  let port = 0;
  let useSSL = false;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    problems.push(new InputError('S3_ENDPOINT', `"${raw}" is not a URL (expected e.g. http://127.0.0.1:9000)`));
  }
  if (url) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      problems.push(new InputError('S3_ENDPOINT', `"${raw}" must use http:// or https://, not ${url.protocol}//`));
    }
    if (url.username || url.password) {
      problems.push(new InputError('S3_ENDPOINT', 'must not embed credentials; use S3_ACCESS_KEY and S3_SECRET_KEY'));
    }
    if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
      problems.push(new InputError('S3_ENDPOINT', `"${raw}" must be scheme://host[:port] only (no path, query or fragment)`));
    }
    useSSL = url.protocol === 'https:';
    endPoint = url.hostname.replace(/^\[(.*)\]$/, '$1');
    port = url.port ? Number(url.port) : useSSL ? 443 : 80;
    if (!endPoint) problems.push(new InputError('S3_ENDPOINT', `"${raw}" has no host`));
  }

  const accessKey = env.S3_ACCESS_KEY ?? '';
  const secretKey = env.S3_SECRET_KEY ?? '';
  if (!accessKey) problems.push(new InputError('S3_ACCESS_KEY', 'is required when S3_ENDPOINT is set'));
  if (!secretKey) problems.push(new InputError('S3_SECRET_KEY', 'is required when S3_ENDPOINT is set'));

  const bucket = env.S3_BUCKET?.trim() || DEFAULT_BUCKET;
  const bucketProblem = bucketNameProblem(bucket);
  if (bucketProblem) problems.push(new InputError('S3_BUCKET', bucketProblem));

  const region = env.S3_REGION?.trim() || DEFAULT_REGION;
  const prefix = env.S3_PREFIX ?? '';
  try {
    validatePrefix(prefix, 'S3_PREFIX');
  } catch (err) {
    problems.push(err as InputError);
  }

  let createBucket = false;
  const cb = env.S3_CREATE_BUCKET?.trim().toLowerCase();
  if (cb) {
    if (['1', 'true', 'yes'].includes(cb)) createBucket = true;
    else if (!['0', 'false', 'no'].includes(cb)) {
      problems.push(new InputError('S3_CREATE_BUCKET', `"${env.S3_CREATE_BUCKET}" must be true or false`));
    }
  }

  // How long transient failures (endpoint down, 5xx) are retried before a call fails UNAVAILABLE.
  let retryForMs: number | undefined;
  const retry = env.S3_RETRY_SECONDS?.trim();
  if (retry) {
    const seconds = Number(retry);
    if (!Number.isFinite(seconds) || seconds < 0 || seconds > 3600) problems.push(new InputError('S3_RETRY_SECONDS', `"${retry}" must be a number of seconds from 0 to 3600`));
    else retryForMs = seconds * 1000;
  }

  if (problems.length) return { config: undefined, problems };
  return { config: { endPoint, port, useSSL, accessKey, secretKey, bucket, region, prefix, createBucket, ...(retryForMs !== undefined ? { retryForMs } : {}) }, problems };
}

/** A copy safe to log: credentials replaced by '[redacted]'. */
export function redactStorageConfig(config: StorageConfig): StorageConfig {
  return { ...config, accessKey: '[redacted]', secretKey: '[redacted]' };
}
