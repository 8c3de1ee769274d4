import { InputError } from './domain-errors';

// Request validation: every rejection names the proto field, so a user's client can fix the call.

export function requireString(value: string | undefined, field: string, maxLength = 256): string {
  if (value === undefined || value === '') throw new InputError(field, 'is required');
  if (value.length > maxLength) throw new InputError(field, `is longer than ${maxLength} characters`);
  return value;
}

/** Ids that become parts of object keys: no path tricks, no control characters. */
export function requireId(value: string | undefined, field: string): string {
  const id = requireString(value, field, 128);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id)) {
    throw new InputError(field, `must match [A-Za-z0-9][A-Za-z0-9._-]*, got ${JSON.stringify(id.slice(0, 40))}`);
  }
  return id;
}

/** S3's limit on a whole key. */
export const MAX_KEY_BYTES = 1024;
/**
 * For a dataset or output prefix: room under S3's limit for the names the services append to it
 * (`/manifest.json`, `/checkpoints/best/model.json`, `/<digest>.stats.json`), so a long prefix is
 * refused naming its field rather than failing later on a key the caller never wrote.
 */
export const MAX_PREFIX_BYTES = 960;
/**
 * Filesystem-backed S3 servers (the embedded one, MinIO) store each key segment as a file name, and a
 * longer name fails there as a server error, retried until the storage budget runs out.
 */
export const MAX_KEY_SEGMENT_BYTES = 255;

/** An object key inside the bucket: relative, no '..' segments, no control characters. */
export function requireKey(value: string | undefined, field: string, maxBytes = MAX_KEY_BYTES): string {
  const key = requireString(value, field, maxBytes);
  if (Buffer.byteLength(key, 'utf8') > maxBytes) throw new InputError(field, `is longer than ${maxBytes} bytes`);
  // eslint-disable-next-line no-control-regex
  if (key.startsWith('/') || key.includes('\\') || /[\u0000-\u001f\u007f]/.test(key) || key.split('/').some((s) => s === '..' || s === '.' || s === '')) {
    throw new InputError(field, `is not a valid object key: ${JSON.stringify(key.slice(0, 80))}`);
  }
  if (key.split('/').some((s) => Buffer.byteLength(s, 'utf8') > MAX_KEY_SEGMENT_BYTES)) {
    throw new InputError(field, `has a path segment longer than ${MAX_KEY_SEGMENT_BYTES} bytes: ${JSON.stringify(key.slice(0, 80))}`);
  }
  return key;
}
