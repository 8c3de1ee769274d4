import { InputError, objectKeyProblem } from '@selftrain/errors';

/** Throws InputError(field) unless `key` is a safe, non-empty, relative object key (objectKeyProblem). */
export function validateKey(key: unknown, field = 'key'): string {
  if (typeof key !== 'string' || key === '') throw new InputError(field, 'must be a non-empty string');
  const problem = objectKeyProblem(key);
  if (problem) throw new InputError(field, `"${key}" ${problem}`);
  return key;
}

/** Like validateKey, but '' (everything) and a trailing '/' are allowed: list prefixes and store prefixes. */
export function validatePrefix(prefix: unknown, field = 'prefix'): string {
  if (typeof prefix !== 'string') throw new InputError(field, 'must be a string');
  if (prefix === '') return prefix;
  const problem = objectKeyProblem(prefix, { allowTrailingSlash: true });
  if (problem) throw new InputError(field, `"${prefix}" ${problem}`);
  return prefix;
}

/** A store prefix in canonical form: '' or 'a/b/'. */
export function normalizeStorePrefix(prefix: string | undefined, field = 'prefix'): string {
  const p = validatePrefix(prefix ?? '', field);
  return p === '' || p.endsWith('/') ? p : `${p}/`;
}
