import type { Artifact } from '@selftrain/proto';

/**
 * The bucket, as every lib sees it. Keys are relative to the configured prefix and may not
 * contain '..' segments or start with '/'. Implemented by S3ObjectStore (minio client).
 */
export interface ObjectStore {
  readonly bucket: string;
  /** Writes one object of known size (never multipart); records its sha256 as metadata. */
  put(key: string, data: Buffer | Uint8Array, contentType?: string): Promise<Artifact>;
  /** Throws NotFoundError naming the key when absent. */
  get(key: string): Promise<Buffer>;
  /** null when absent. sha256 is the one recorded at put time. */
  stat(key: string): Promise<{ key: string; sizeBytes: number; sha256: string } | null>;
  exists(key: string): Promise<boolean>;
  /** Every key under a prefix (recursive), sorted. */
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
  putJson(key: string, value: unknown): Promise<Artifact>;
  /** Throws NotFoundError when absent, InputError naming the key when it is not JSON. */
  getJson<T = unknown>(key: string): Promise<T>;
}
