import { SelftrainError } from '@selftrain/errors';

/** The storage server refused or failed an operation for a reason that is not the caller's input. */
export class StorageError extends SelftrainError {
  constructor(
    readonly endpoint: string,
    readonly bucket: string,
    message: string,
    /** The S3 error code or socket error code, when there was one. */
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Transient failures went on for longer than the retry budget (endpoint down, 5xx, SlowDown): UNAVAILABLE to callers. */
export class StorageUnavailableError extends StorageError {
  readonly unavailable = true;
}
