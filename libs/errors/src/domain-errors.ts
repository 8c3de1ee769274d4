// Domain errors: libs throw these; the gRPC edge (libs/rpc) maps each to one status code.
// They know nothing of the transport.

export class SelftrainError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad input from a caller. `field` names the offending field (dotted path) or file. */
export class InputError extends SelftrainError {
  constructor(
    readonly field: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${field}: ${message}`, options);
  }
}

/** Several input problems reported at once (config validation). */
export class InputErrors extends SelftrainError {
  constructor(readonly problems: InputError[]) {
    super(problems.map((p) => p.message).join('; '));
  }
}

/** A referenced artifact (checkpoint, dataset, shard, job) does not exist. */
export class NotFoundError extends SelftrainError {
  constructor(
    readonly what: string,
    message?: string,
  ) {
    super(message ?? `${what} not found`);
  }
}

/** A request conflicts with existing state (same job id, different request). */
export class ConflictError extends SelftrainError {}

/** The service is at its admission limit. */
export class OverloadedError extends SelftrainError {}

/** Stored data failed an integrity check; names the object and the byte offset of the bad record. */
export class CorruptDataError extends SelftrainError {
  constructor(
    readonly object: string,
    readonly offset: number,
    message: string,
  ) {
    super(`${object} at byte ${offset}: ${message}`);
  }
}

/** A precondition of the work is not met (e.g. the teacher kept no pseudo-labels). */
export class FailedPreconditionError extends SelftrainError {}

/** The work was cancelled by a caller or by shutdown. */
export class CancelledError extends SelftrainError {}

/** UNAVAILABLE: what was asked for lives on a process that is gone; asking again (or elsewhere) may work. */
export class UnavailableError extends SelftrainError {
  readonly unavailable = true;
}

/** Errors a caller may retry later: this library's UnavailableError, and others that mark themselves (storage outages). */
export function isUnavailable(err: unknown): boolean {
  return err instanceof SelftrainError && (err as { unavailable?: unknown }).unavailable === true;
}
