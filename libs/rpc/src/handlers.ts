import {
  status, type handleServerStreamingCall, type handleUnaryCall, type MethodDefinition, type ServerUnaryCall,
  type ServerWritableStream, type ServiceDefinition, type sendUnaryData,
} from '@grpc/grpc-js';
import type { Logger } from '@selftrain/logger';
import { InputError, OverloadedError } from '@selftrain/errors';
import { statusOf, toServiceError } from './error-mapping';
import { requestIdOf, type RequestContext } from './request-context';

/**
 * What a call is admitted as. 'work' calls (training starts, labeling, evaluation: the heavy ones) share
 * the server's limit; 'read' calls (GetInfo, GetJob) have a limit of their own, so a service whose work
 * slots are all taken still answers what it is and how its jobs are doing.
 */
export type Admission = 'work' | 'read';

/**
 * Read calls admitted at once per work slot: a read costs one bucket read at most, so a server takes
 * several times more of them, while an operator's low MAX_INFLIGHT_CALLS still bounds the bucket's load.
 */
export const READS_PER_WORK_SLOT = 4;

/** The read limit of a server that admits `maxInFlight` work calls at once. */
export function readLimitFor(maxInFlight: number): number {
  return READS_PER_WORK_SLOT * maxInFlight;
}

/** Shared by every handler of one server: its logger and its admission limits. */
export class HandlerScope {
  private readonly inFlight: Record<Admission, number> = { work: 0, read: 0 };
  private readonly limits: Record<Admission, number>;
  /**
   * What a handler's error is answered as: the error itself, unless the service runtime sets otherwise
   * (a fault of the compute backend is answered UNAVAILABLE while the process goes down to be restarted).
   */
  translateError: (err: unknown) => unknown = (err) => err;

  constructor(
    readonly logger: Logger,
    readonly maxInFlight = 64,
    maxReadsInFlight = readLimitFor(maxInFlight),
  ) {
    this.limits = { work: maxInFlight, read: maxReadsInFlight };
  }

  admit(method: string, admission: Admission = 'work'): () => void {
    const limit = this.limits[admission];
    if (this.inFlight[admission] >= limit) {
      const what = admission === 'read' ? 'read calls' : 'calls';
      throw new OverloadedError(`${method}: ${this.inFlight[admission]} ${what} in flight (limit ${limit}); retry later`);
    }
    this.inFlight[admission] += 1;
    let released = false;
    return () => {
      if (!released) this.inFlight[admission] -= 1;
      released = true;
    };
  }

  context(method: string, call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>): RequestContext {
    const requestId = requestIdOf(call.metadata);
    const controller = new AbortController();
    call.on('cancelled', () => controller.abort());
    return { requestId, logger: this.logger.child({ method, requestId }), signal: controller.signal };
  }

  logFailure(ctx: RequestContext, err: unknown, started: number): void {
    const code = statusOf(err);
    const fields = { code: status[code], ms: Date.now() - started };
    if (code === status.INTERNAL) ctx.logger.error({ ...fields, err }, 'call failed');
    else ctx.logger.warn({ ...fields, error: err instanceof Error ? err.message : String(err) }, 'call rejected');
  }
}

/** What a request deserializer hands on for bytes that are not the request message. */
class UndecodableRequest {
  constructor(
    readonly method: string,
    readonly reason: string,
  ) {}
}

/**
 * The definition with every request deserializer made total. grpc-js answers a deserializer that throws
 * with INTERNAL ("Error deserializing request") before any handler runs, so a client's malformed bytes
 * would read as a server fault and go unlogged; this way they reach the handler, which answers
 * INVALID_ARGUMENT naming the request.
 */
export function decodeFailuresAsBadInput<D extends ServiceDefinition>(definition: D): D {
  const wrapped: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const [name, m] of Object.entries(definition) as [string, MethodDefinition<unknown, unknown>][]) {
    const method = m.path.split('/').pop() ?? m.path;
    wrapped[name] = {
      ...m,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return m.requestDeserialize(bytes);
        } catch (err) {
          return new UndecodableRequest(method, err instanceof Error ? err.message : String(err));
        }
      },
    };
  }
  return wrapped as unknown as D;
}

function decoded<Req>(request: Req): Req {
  if (request instanceof UndecodableRequest) {
    throw new InputError('request', `is not a valid ${request.method} request message: ${request.reason.slice(0, 200)}`);
  }
  return request;
}

export function unary<Req, Res>(
  scope: HandlerScope,
  method: string,
  fn: (request: Req, ctx: RequestContext) => Promise<Res>,
  admission: Admission = 'work',
): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    const started = Date.now();
    const ctx = scope.context(method, call as ServerUnaryCall<unknown, unknown>);
    let release: () => void = () => {};
    // Exactly one callback per call, on every path.
    Promise.resolve()
      .then(() => {
        release = scope.admit(method, admission);
        return fn(decoded(call.request), ctx);
      })
      .then(
        (response) => {
          ctx.logger.info({ code: 'OK', ms: Date.now() - started }, 'call done');
          callback(null, response);
        },
        (thrown: unknown) => {
          const err = scope.translateError(thrown);
          scope.logFailure(ctx, err, started);
          callback(toServiceError(err, ctx.requestId));
        },
      )
      .finally(() => release());
  };
}

export function serverStream<Req, Res>(
  scope: HandlerScope,
  method: string,
  fn: (request: Req, ctx: RequestContext, send: (message: Res) => void) => Promise<void>,
): handleServerStreamingCall<Req, Res> {
  return (call: ServerWritableStream<Req, Res>) => {
    const started = Date.now();
    const ctx = scope.context(method, call as ServerWritableStream<unknown, unknown>);
    // Watch streams are long-lived and cheap: they are not counted against the admission limit.
    Promise.resolve()
      .then(() => fn(decoded(call.request), ctx, (message) => { if (!ctx.signal.aborted) call.write(message); }))
      .then(
        () => {
          ctx.logger.info({ code: 'OK', ms: Date.now() - started }, 'stream done');
          call.end();
        },
        (thrown: unknown) => {
          const err = scope.translateError(thrown);
          if (ctx.signal.aborted) return;
          scope.logFailure(ctx, err, started);
          // 'error' (not destroy) is what makes grpc-js send the status: a destroyed stream never ends
          // and the client waits out its deadline.
          call.emit('error', toServiceError(err, ctx.requestId));
        },
      );
  };
}
