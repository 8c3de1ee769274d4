import { InputError } from '@selftrain/errors';

// S3's own limit; s3rver maps keys to file paths, so '..' or '.' segments would also escape its directory.
const MAX_KEY_BYTES = 1024;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function segmentProblem(value: string, allowTrailingSlash: boolean): string | undefined {
  if (value.startsWith('/')) return 'must not start with "/"';
  if (value.includes('\\')) return 'must not contain backslashes';
  if (CONTROL.test(value)) return 'must not contain control characters';
  if (Buffer.byteLength(value, 'utf8') > MAX_KEY_BYTES) return `must be at most ${MAX_KEY_BYTES} bytes`;
  const segments = value.split('/');
  if (allowTrailingSlash && segments[segments.length - 1] === '') segments.pop();
  for (const s of segments) {
    if (s === '..' || s === '.') return 'must not contain "." or ".." segments';
    // 'a//b' would alias 'a/b' on a filesystem-backed server.
    if (s === '') return 'must not contain empty segments ("//" or a trailing "/")';
  }
  return undefined;
}

/** Throws InputError(field) unless `key` is a safe, non-empty, relative object key. */
export function validateKey(key: unknown, field = 'key'): string {
  if (typeof key !== 'string' || key === '') throw new InputError(field, 'must be a non-empty string');
  const problem = segmentProblem(key, false);
  if (problem) throw new InputError(field, `"${key}" ${problem}`);
  return key;
}

/** Like validateKey, but '' (everything) and a trailing '/' are allowed: list prefixes and store prefixes. */
export function validatePrefix(prefix: unknown, field = 'prefix'): string {
  if (typeof prefix !== 'string') throw new InputError(field, 'must be a string');
  if (prefix === '') return prefix;
  const problem = segmentProblem(prefix, true);
  if (problem) throw new InputError(field, `"${prefix}" ${problem}`);
  return prefix;
}

/** A store prefix in canonical form: '' or 'a/b/'. */
export function normalizeStorePrefix(prefix: string | undefined, field = 'prefix'): string {
  const p = validatePrefix(prefix ?? '', field);
  return p === '' || p.endsWith('/') ? p : `${p}/`;
}
