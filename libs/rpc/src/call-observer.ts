import { ResponderBuilder, ServerInterceptingCall, status, type ServerInterceptor } from '@grpc/grpc-js';

/** Told of every finished call: its full method path (e.g. /selftrain.v1.Teacher/GetJob), status code and duration. */
export type CallObserver = (method: string, code: status, seconds: number) => void;

/**
 * Observes calls at the transport, so rejections that never reach a handler (a bad token, an
 * undecodable message, a message over the size limit) are counted too.
 */
export function callObserverInterceptor(observe: CallObserver): ServerInterceptor {
  return (method, call) => {
    const started = process.hrtime.bigint();
    let seen = false;
    const responder = new ResponderBuilder()
      .withSendStatus((s, next) => {
        if (!seen) observe(method.path, s.code, Number(process.hrtime.bigint() - started) / 1e9);
        seen = true;
        next(s);
      })
      .build();
    return new ServerInterceptingCall(call, responder);
  };
}
