import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  CancelledError, ConflictError, CorruptDataError, FailedPreconditionError, InputError, InputErrors,
  NotFoundError, OverloadedError, SelftrainError, isUnavailable,
} from '@selftrain/errors';

/** The one place domain errors become gRPC status codes. */
export function statusOf(err: unknown): status {
  if (err instanceof InputError || err instanceof InputErrors) return status.INVALID_ARGUMENT;
  if (err instanceof NotFoundError) return status.NOT_FOUND;
  if (err instanceof ConflictError) return status.ALREADY_EXISTS;
  if (err instanceof OverloadedError) return status.RESOURCE_EXHAUSTED;
  if (err instanceof CorruptDataError) return status.DATA_LOSS;
  if (err instanceof FailedPreconditionError) return status.FAILED_PRECONDITION;
  if (err instanceof CancelledError) return status.CANCELLED;
  if (isUnavailable(err)) return status.UNAVAILABLE;
  return status.INTERNAL;
}

/** `requestId` goes into an INTERNAL answer: the one thing a caller needs to find the logged stack. */
export function toServiceError(err: unknown, requestId?: string): Partial<ServiceError> {
  const code = statusOf(err);
  const metadata = new Metadata();
  if (err instanceof InputError) metadata.set('selftrain-field', err.field);
  if (err instanceof InputErrors) metadata.set('selftrain-field', err.problems.map((p) => p.field).join(','));
  // Unknown errors keep their message (the service logs the stack); nothing secret is in our messages.
  const details = err instanceof Error ? err.message : String(err);
  const internal = requestId ? `internal error (request ${requestId}): ${details}` : `internal error: ${details}`;
  return { code, details: code === status.INTERNAL ? internal : details, metadata };
}

/** A failed client call, carrying the status code and the server's message. */
export class RpcError extends SelftrainError {
  constructor(
    readonly code: status,
    readonly details: string,
    readonly method: string,
    options?: { cause?: unknown },
  ) {
    super(`${method}: ${status[code] ?? code}: ${details}`, options);
  }
}

/** Client edge: a gRPC error becomes the domain error the caller can branch on. */
export function fromServiceError(err: ServiceError, method: string): Error {
  const details = err.details ?? err.message;
  switch (err.code) {
    case status.INVALID_ARGUMENT: {
      const field = String(err.metadata?.get('selftrain-field')?.[0] ?? 'request');
      return new InputError(field, details.startsWith(`${field}: `) ? details.slice(field.length + 2) : details, { cause: err });
    }
    case status.NOT_FOUND:
      return new NotFoundError(method, details);
    case status.RESOURCE_EXHAUSTED:
      return new OverloadedError(`${method}: ${details}`, { cause: err });
    default:
      return new RpcError(err.code, details, method, { cause: err });
  }
}
