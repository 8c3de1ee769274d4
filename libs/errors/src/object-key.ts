// The one definition of a valid object key, for request validation (requireKey) and for the store itself
// (@selftrain/storage's validateKey / validatePrefix): a key the services accept is a key the store accepts.

/** S3's limit on a whole key. */
export const MAX_KEY_BYTES = 1024;
/**
 * Filesystem-backed S3 servers (the embedded one, MinIO) store each key segment as a file name, and a
 * longer name fails there as a server error, retried until the storage budget runs out.
 */
export const MAX_KEY_SEGMENT_BYTES = 255;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * What is wrong with `key` as an object key (relative, no '.', '..' or empty segments, no backslashes or
 * control characters, at most `maxBytes` in all and 255 bytes a segment), or undefined when nothing is.
 * '..' or '.' segments would escape a filesystem-backed server's directory; 'a//b' would alias 'a/b' there.
 * `allowTrailingSlash`: a prefix ('runs/') may end in '/'.
 */
export function objectKeyProblem(key: string, opts: { maxBytes?: number; allowTrailingSlash?: boolean } = {}): string | undefined {
  const maxBytes = opts.maxBytes ?? MAX_KEY_BYTES;
  if (key.startsWith('/')) return 'must not start with "/"';
  if (key.includes('\\')) return 'must not contain backslashes';
  if (CONTROL.test(key)) return 'must not contain control characters';
  if (Buffer.byteLength(key, 'utf8') > maxBytes) return `must be at most ${maxBytes} bytes`;
  const segments = key.split('/');
  if (opts.allowTrailingSlash && segments.length > 1 && segments[segments.length - 1] === '') segments.pop();
  for (const s of segments) {
    if (s === '..' || s === '.') return 'must not contain "." or ".." segments';
    if (s === '') return 'must not contain empty segments ("//" or a trailing "/")';
    if (Buffer.byteLength(s, 'utf8') > MAX_KEY_SEGMENT_BYTES) return `must not have a path segment longer than ${MAX_KEY_SEGMENT_BYTES} bytes`;
  }
  return undefined;
}
