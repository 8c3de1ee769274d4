import { randomUUID } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import type { Logger } from '@selftrain/logger';

export const REQUEST_ID_HEADER = 'x-request-id';

export interface RequestContext {
  requestId: string;
  logger: Logger;
  /** Aborted when the client cancels or its deadline passes. */
  signal: AbortSignal;
}

/** The caller's request id (from the driver), or a new one; bounded so a hostile header can't bloat logs. */
export function requestIdOf(metadata: Metadata): string {
  const raw = metadata.get(REQUEST_ID_HEADER)[0];
  const id = typeof raw === 'string' ? raw.replace(/[^A-Za-z0-9._:-]/g, '').slice(0, 64) : '';
  return id || randomUUID();
}
