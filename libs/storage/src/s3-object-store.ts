import * as http from 'node:http';
import * as https from 'node:https';
import type { Readable } from 'node:stream';
import { Client } from 'minio';
import { CorruptDataError, InputError, NotFoundError, SelftrainError } from '@selftrain/errors';
import type { Logger } from '@selftrain/logger';
import type { Artifact } from '@selftrain/proto';
import { normalizeStorePrefix, validateKey, validatePrefix } from './keys';
import type { ObjectStore } from './object-store';
import { RetryExhaustedError, withRetry } from './retry';
import { sha256Hex } from './sha256';
import { DEFAULT_REGION, bucketNameProblem, endpointUrl, type StorageConfig } from './storage-config';
import { StorageError, StorageUnavailableError } from './storage-errors';

const SHA256_META = 'sha256';
const NOT_FOUND_CODES = new Set(['NoSuchKey', 'NotFound', 'NoSuchObject']);
const AUTH_CODES = new Set(['AccessDenied', 'SignatureDoesNotMatch', 'InvalidAccessKeyId', 'InvalidToken', 'ExpiredToken']);

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function toBuffer(data: Buffer | Uint8Array): Buffer {
  // minio only takes the size-known (single PUT) path for a real Buffer; a plain Uint8Array is rejected.
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** ObjectStore on any S3 endpoint through the minio client; plain S3 calls only, never multipart. */
export class S3ObjectStore implements ObjectStore {
  readonly bucket: string;
  /** 'http://host:port', for messages. */
  readonly endpoint: string;
  /** Canonical store prefix: '' or 'a/b/'. */
  readonly prefix: string;
  private readonly retryForMs: number;

  private constructor(
    private readonly client: Client,
    private readonly agent: http.Agent,
    private readonly config: StorageConfig,
    private readonly logger?: Logger,
  ) {
    this.bucket = config.bucket;
    this.endpoint = endpointUrl(config);
    this.prefix = normalizeStorePrefix(config.prefix);
    this.retryForMs = config.retryForMs ?? 30_000;
  }

  /**
   * Checks the endpoint answers and the bucket exists (creating it when config.createBucket), retrying a
   * down endpoint for up to retryForMs. Fails with an error naming the endpoint and bucket.
   */
  static async connect(config: StorageConfig, logger?: Logger): Promise<S3ObjectStore> {
    const problem = bucketNameProblem(config.bucket);
    if (problem) throw new InputError('bucket', problem);
    normalizeStorePrefix(config.prefix);
    const requestTimeoutMs = config.requestTimeoutMs ?? 60_000;
    const mod = config.useSSL ? https : http;
    const agent = new mod.Agent({ keepAlive: true, maxSockets: config.maxSockets ?? 16 });
    // minio has no request timeout of its own: a silent server would hang an operation forever.
    const transport = {
      request: ((opts: http.RequestOptions, cb?: (res: http.IncomingMessage) => void) => {
        const req = mod.request({ ...opts, agent }, cb);
        req.setTimeout(requestTimeoutMs, () => {
          req.destroy(Object.assign(new Error(`no response within ${requestTimeoutMs} ms`), { code: 'ETIMEDOUT' }));
        });
        return req;
      }) as typeof http.request,
    };
    let client: Client;
    try {
      client = new Client({
        endPoint: config.endPoint,
        port: config.port,
        useSSL: config.useSSL,
        accessKey: config.accessKey,
        secretKey: config.secretKey,
        // A fixed region skips minio's GetBucketLocation round trip before every first call.
        region: config.region ?? DEFAULT_REGION,
        pathStyle: true,
        transport,
        transportAgent: agent,
      });
    } catch (err) {
      agent.destroy();
      throw new InputError('endPoint', `${endpointUrl(config)}: ${(err as Error).message}`, { cause: err });
    }
    const store = new S3ObjectStore(client, agent, config, logger?.child({ lib: 'storage', bucket: config.bucket }));
    try {
      await store.ensureBucket(config);
    } catch (err) {
      store.close();
      throw err;
    }
    store.logger?.info({ endpoint: store.endpoint, prefix: store.prefix }, 'storage: connected');
    return store;
  }

  private async ensureBucket(config: StorageConfig): Promise<void> {
    const where = `storage at ${this.endpoint} (bucket "${this.bucket}")`;
    const exists = await this.call('check bucket', undefined, () => this.client.bucketExists(this.bucket), where);
    if (exists) return;
    if (!config.createBucket) {
      throw new NotFoundError('bucket', `bucket "${this.bucket}" does not exist at ${this.endpoint} (create it, or set createBucket)`);
    }
    await this.call('create bucket', undefined, async () => {
      try {
        await this.client.makeBucket(this.bucket, config.region ?? DEFAULT_REGION);
      } catch (err) {
        // Another replica created it first.
        if (codeOf(err) !== 'BucketAlreadyOwnedByYou' && codeOf(err) !== 'BucketAlreadyExists') throw err;
      }
    }, where);
    this.logger?.info({ endpoint: this.endpoint }, 'storage: created bucket');
  }

  /**
   * A store on another bucket of the same endpoint, with the same credentials and no key prefix (an
   * s3://BUCKET/PREFIX the user names, e.g. a pool of raw images). The bucket must exist; close it after use.
   */
  connectBucket(bucket: string): Promise<S3ObjectStore> {
    return S3ObjectStore.connect({ ...this.config, bucket, prefix: '', createBucket: false }, this.logger);
  }

  /** Releases pooled sockets. The store must not be used afterwards. */
  close(): void {
    this.agent.destroy();
  }

  /** The bucket key behind a store key (prefix applied). */
  fullKey(key: string): string {
    return this.prefix + validateKey(key);
  }

  async put(key: string, data: Buffer | Uint8Array, contentType = 'application/octet-stream'): Promise<Artifact> {
    const full = this.fullKey(key);
    const buf = toBuffer(data);
    const sha256 = sha256Hex(buf);
    // A Buffer means one PUT with a known Content-Length: s3rver lacks ListMultipartUploads.
    await this.call('put', key, () =>
      this.client.putObject(this.bucket, full, buf, buf.length, { 'Content-Type': contentType, [SHA256_META]: sha256 }),
    );
    return { key, sha256, sizeBytes: buf.length };
  }

  async get(key: string): Promise<Buffer> {
    const full = this.fullKey(key);
    const { body, recorded } = await this.call('get', key, async () => {
      const res = await this.client.getObject(this.bucket, full);
      // minio hands back the HTTP response itself; its headers carry the recorded checksum.
      const headers = (res as Readable & { headers?: http.IncomingHttpHeaders }).headers ?? {};
      const meta = headers[`x-amz-meta-${SHA256_META}`];
      return { body: await readAll(res), recorded: typeof meta === 'string' ? meta : undefined };
    });
    if (recorded) {
      const actual = sha256Hex(body);
      if (actual !== recorded) {
        throw new CorruptDataError(key, 0, `sha256 ${actual} does not match the recorded ${recorded} (${body.length} bytes read)`);
      }
    }
    return body;
  }

  async stat(key: string): Promise<{ key: string; sizeBytes: number; sha256: string } | null> {
    const full = this.fullKey(key);
    try {
      const st = await this.call('stat', key, () => this.client.statObject(this.bucket, full));
      const sha = st.metaData?.[SHA256_META];
      // '' when the object was written by something other than this store.
      return { key, sizeBytes: st.size, sha256: typeof sha === 'string' ? sha : '' };
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== null;
  }

  async list(prefix: string): Promise<string[]> {
    const full = this.prefix + validatePrefix(prefix);
    const keys = await this.call('list', prefix, () =>
      new Promise<string[]>((resolve, reject) => {
        const out: string[] = [];
        const stream = this.client.listObjectsV2(this.bucket, full, true);
        stream.on('data', (item) => {
          if (item.name) out.push(item.name);
        });
        stream.on('error', reject);
        stream.on('end', () => resolve(out));
      }),
    );
    return keys
      .filter((k) => k.startsWith(this.prefix))
      .map((k) => k.slice(this.prefix.length))
      .sort();
  }

  async delete(key: string): Promise<void> {
    const full = this.fullKey(key);
    await this.call('delete', key, () => this.client.removeObject(this.bucket, full));
  }

  async putJson(key: string, value: unknown): Promise<Artifact> {
    const text = JSON.stringify(value);
    if (text === undefined) throw new InputError('value', `cannot store ${typeof value} as JSON`);
    return this.put(key, Buffer.from(text, 'utf8'), 'application/json');
  }

  async getJson<T = unknown>(key: string): Promise<T> {
    const body = await this.get(key);
    try {
      return JSON.parse(body.toString('utf8')) as T;
    } catch (err) {
      // The bucket's content, not the caller's input, is what is wrong.
      throw new CorruptDataError(key, 0, `is not valid JSON: ${(err as Error).message}`);
    }
  }

  /** Runs one S3 call with retries and turns its failures into domain errors naming endpoint, bucket and key. */
  private async call<T>(op: string, key: string | undefined, fn: () => Promise<T>, where?: string): Promise<T> {
    const target = where ?? `storage at ${this.endpoint} (bucket "${this.bucket}"${key !== undefined ? `, key "${key}"` : ''})`;
    try {
      return await withRetry(fn, { retryForMs: this.retryForMs, what: `${op} ${key ?? this.bucket}`, logger: this.logger });
    } catch (err) {
      if (err instanceof RetryExhaustedError) {
        const last = err.lastError as Error;
        throw new StorageUnavailableError(
          this.endpoint, this.bucket,
          `${op} failed: ${target} unavailable for ${err.elapsedMs} ms (${err.attempts} attempts): ${codeOf(last) ?? ''} ${last?.message ?? ''}`.trim(),
          codeOf(last), { cause: last },
        );
      }
      const code = codeOf(err);
      if (code && NOT_FOUND_CODES.has(code) && key !== undefined) {
        throw new NotFoundError(key, `object "${key}" not found in bucket "${this.bucket}" at ${this.endpoint}`);
      }
      if (code && AUTH_CODES.has(code)) {
        throw new StorageError(this.endpoint, this.bucket,
          `${op} denied: ${target} rejected the credentials or the request (${code})`, code, { cause: err });
      }
      if (err instanceof SelftrainError) throw err;
      throw new StorageError(this.endpoint, this.bucket,
        `${op} failed: ${target}: ${code ? `${code}: ` : ''}${(err as Error)?.message ?? String(err)}`, code, { cause: err });
    }
  }
}
