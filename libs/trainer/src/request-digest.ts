import { createHash } from 'node:crypto';

/** A stable digest of a request (for idempotent Start): same JSON, same digest. */
export function requestDigest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}
