import type { Logger } from '@selftrain/logger';

const TRANSIENT_SOCKET_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH',
  'ECONNABORTED', 'UND_ERR_SOCKET',
]);
// S3 error codes that mean "try again": the 5xx family and throttling.
const TRANSIENT_S3_CODES = new Set([
  'InternalError', 'ServiceUnavailable', 'SlowDown', 'RequestTimeout', 'ServiceFailure', 'Throttling',
  'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequests', 'XMinioServerNotInitialized',
]);

/** True for failures worth retrying: connection trouble, 5xx, throttling. NotFound and other 4xx are final. */
export function isTransientError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { code?: unknown; statusCode?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code && TRANSIENT_SOCKET_CODES.has(code)) return true;
  if (code && TRANSIENT_S3_CODES.has(code)) return true;
  if (/socket hang up|ECONNRESET|ECONNREFUSED|ETIMEDOUT/.test(e.message)) return true;
  if (typeof e.statusCode === 'number' && e.statusCode >= 500) return true;
  // minio reports a body-less error response as UnknownError with the status as its message.
  if (code === 'UnknownError' && /^5\d\d$/.test(e.message)) return true;
  // An S3Error without any code came from a non-XML body: a proxy's 502/503 page, not S3 itself.
  if (e.name === 'S3Error' && code === undefined) return true;
  return false;
}

export interface RetryOptions {
  /** Total time budget for all attempts, including waits. */
  retryForMs: number;
  /** What is being done, for logs ("put runs/1/record.json"). */
  what: string;
  logger?: Logger;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export class RetryExhaustedError extends Error {
  constructor(
    readonly attempts: number,
    readonly elapsedMs: number,
    readonly lastError: unknown,
  ) {
    super(`gave up after ${attempts} attempt(s) in ${elapsedMs} ms: ${(lastError as Error)?.message ?? String(lastError)}`);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs op until it succeeds, fails with a non-transient error (rethrown as is), or the budget is spent
 * (RetryExhaustedError). Exponential backoff with jitter (50-100% of the step), so many clients restarting together spread out.
 */
export async function withRetry<T>(op: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const base = opts.baseDelayMs ?? 100;
  const cap = opts.maxDelayMs ?? 2000;
  const start = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (!isTransientError(err)) throw err;
      const elapsed = Date.now() - start;
      const delay = Math.round(Math.min(cap, base * 2 ** (attempt - 1)) * (0.5 + Math.random() * 0.5));
      if (elapsed + delay > opts.retryForMs) throw new RetryExhaustedError(attempt, elapsed, err);
      opts.logger?.warn(
        { attempt, delayMs: delay, err: (err as Error).message, code: (err as { code?: string }).code },
        `storage: ${opts.what} failed, retrying`,
      );
      await sleep(delay);
    }
  }
}
