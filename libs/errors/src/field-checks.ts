import { InputError } from './domain-errors';
import { MAX_KEY_BYTES, objectKeyProblem } from './object-key';

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

/**
 * For a dataset or output prefix: room under S3's limit for the names the services append to it
 * (`/manifest.json`, `/checkpoints/best/model.json`, `/<digest>.stats.json`), so a long prefix is
 * refused naming its field rather than failing later on a key the caller never wrote.
 */
export const MAX_PREFIX_BYTES = 960;

/** An object key inside the bucket (objectKeyProblem's rules), within `maxBytes`. */
export function requireKey(value: string | undefined, field: string, maxBytes = MAX_KEY_BYTES): string {
  const key = requireString(value, field, maxBytes);
  const problem = objectKeyProblem(key, { maxBytes });
  if (problem) throw new InputError(field, `${problem}: ${JSON.stringify(key.slice(0, 80))}`);
  return key;
}
