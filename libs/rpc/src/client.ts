import { Metadata, type ChannelCredentials, type Client, type ClientReadableStream, type Interceptor, type ServiceError } from '@grpc/grpc-js';
import { MAX_MESSAGE_BYTES } from './server';
import { bearerTokenClientInterceptor, channelCredentials, serverNameOptions, type ClientSecurity } from './security';
import { fromServiceError } from './error-mapping';
import { REQUEST_ID_HEADER } from './request-context';

export interface CallOptions {
  /** Every call has one; defaults to 30 s. */
  deadlineMs?: number;
  requestId?: string;
}

type ClientCtor<C> = new (address: string, creds: ChannelCredentials, options?: object) => C;

/** A client with message limits, retries on UNAVAILABLE, and the caller's TLS and token. */
export function createClient<C extends Client>(Ctor: ClientCtor<C>, address: string, security: ClientSecurity = {}): C {
  const interceptors: Interceptor[] = security.token ? [bearerTokenClientInterceptor(security.token)] : [];
  return new Ctor(address, channelCredentials(security), {
    interceptors,
    ...serverNameOptions(security),
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    // Retry only UNAVAILABLE, as grpc's service config recommends for non-idempotent-safe calls.
    'grpc.service_config': JSON.stringify({
      methodConfig: [{
        name: [{}],
        retryPolicy: { maxAttempts: 4, initialBackoff: '0.2s', maxBackoff: '2s', backoffMultiplier: 2, retryableStatusCodes: ['UNAVAILABLE'] },
      }],
    }),
  });
}

function metadataFor(opts: CallOptions): Metadata {
  const md = new Metadata();
  if (opts.requestId) md.set(REQUEST_ID_HEADER, opts.requestId);
  return md;
}

type UnaryMethod<Req, Res> = (
  request: Req, metadata: Metadata, options: { deadline: Date }, callback: (err: ServiceError | null, res: Res) => void,
) => unknown;

/** Promise form of a unary call, with a deadline and domain errors. */
export function call<Req, Res>(client: Client, method: UnaryMethod<Req, Res>, name: string, request: Req, opts: CallOptions = {}): Promise<Res> {
  const deadline = new Date(Date.now() + (opts.deadlineMs ?? 30_000));
  return new Promise((resolve, reject) => {
    method.call(client, request, metadataFor(opts), { deadline }, (err, res) => (err ? reject(fromServiceError(err, name)) : resolve(res)));
  });
}

type StreamMethod<Req, Res> = (request: Req, metadata: Metadata, options: { deadline: Date }) => ClientReadableStream<Res>;

/** Async iteration over a server stream; errors arrive as domain errors. */
export async function* stream<Req, Res>(
  client: Client, method: StreamMethod<Req, Res>, name: string, request: Req, opts: CallOptions = {},
): AsyncGenerator<Res> {
  const deadline = new Date(Date.now() + (opts.deadlineMs ?? 24 * 3600_000));
  const s = method.call(client, request, metadataFor(opts), { deadline });
  try {
    for await (const message of s) yield message as Res;
  } catch (err) {
    throw fromServiceError(err as ServiceError, name);
  } finally {
    s.cancel();
  }
}
