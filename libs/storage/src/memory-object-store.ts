// An ObjectStore kept in a Map, for lib tests and benches: the same contract as S3ObjectStore (NotFoundError
// on missing keys, sha256 recorded at put time, sorted recursive list), so they need no bucket.
import { createHash } from 'node:crypto';
import { CorruptDataError, InputError, NotFoundError } from '@selftrain/errors';
import type { Artifact } from '@selftrain/proto';
import type { ObjectStore } from './object-store';

interface Entry {
  data: Buffer;
  sha256: string;
  contentType: string;
}

export class MemoryObjectStore implements ObjectStore {
  readonly bucket: string;
  private readonly objects = new Map<string, Entry>();
  /** Every call, in order ("put <key>", "get <key>", ...): tests assert access patterns on it. */
  readonly calls: string[] = [];

  constructor(bucket = 'memory') {
    this.bucket = bucket;
  }

  async put(key: string, data: Buffer | Uint8Array, contentType = 'application/octet-stream'): Promise<Artifact> {
    checkKey(key);
    this.calls.push(`put ${key}`);
    // Copy, as a real upload does: later mutation of the caller's buffer must not reach the store.
    const copy = Buffer.from(data);
    const sha256 = createHash('sha256').update(copy).digest('hex');
    this.objects.set(key, { data: copy, sha256, contentType });
    return { key, sha256, sizeBytes: copy.length };
  }

  async get(key: string): Promise<Buffer> {
    checkKey(key);
    this.calls.push(`get ${key}`);
    const e = this.objects.get(key);
    if (!e) throw new NotFoundError(key);
    return Buffer.from(e.data);
  }

  async stat(key: string): Promise<{ key: string; sizeBytes: number; sha256: string } | null> {
    checkKey(key);
    this.calls.push(`stat ${key}`);
    const e = this.objects.get(key);
    return e ? { key, sizeBytes: e.data.length, sha256: e.sha256 } : null;
  }

  async exists(key: string): Promise<boolean> {
    checkKey(key);
    this.calls.push(`exists ${key}`);
    return this.objects.has(key);
  }

  async list(prefix: string): Promise<string[]> {
    this.calls.push(`list ${prefix}`);
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    this.calls.push(`delete ${key}`);
    this.objects.delete(key);
  }

  async putJson(key: string, value: unknown): Promise<Artifact> {
    return this.put(key, Buffer.from(JSON.stringify(value, null, 2) + '\n'), 'application/json');
  }

  async getJson<T = unknown>(key: string): Promise<T> {
    const data = await this.get(key);
    try {
      return JSON.parse(data.toString('utf8')) as T;
    } catch {
      throw new CorruptDataError(key, 0, 'object is not JSON');
    }
  }

  /** Replaces stored bytes without updating the recorded sha256: simulates bit rot in the bucket. */
  tamper(key: string, edit: (data: Buffer) => Buffer): void {
    const e = this.objects.get(key);
    if (!e) throw new NotFoundError(key);
    e.data = edit(Buffer.from(e.data));
  }

  /** Total bytes held. */
  get sizeBytes(): number {
    let n = 0;
    for (const e of this.objects.values()) n += e.data.length;
    return n;
  }
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key === '' || key.startsWith('/') || key.split('/').includes('..')) {
    throw new InputError('key', `invalid object key ${JSON.stringify(key)}`);
  }
}
