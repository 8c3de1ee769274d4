import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';

/** What came back for one call: the status, the server's message, and how long it took. */
export interface Answer {
  code: status;
  details: string;
  ms: number;
  /** Messages received before the status (server streams). */
  messages: number;
  /** The `selftrain-field` trailer: the request field an INVALID_ARGUMENT names. */
  field?: string;
  /** The response message of a unary call that succeeded, undecoded. */
  response?: Buffer;
}

function fieldOf(metadata: Metadata | undefined): string | undefined {
  const v = metadata?.get('selftrain-field')[0];
  return v === undefined ? undefined : String(v);
}

const identity = (b: Buffer): Buffer => b;

/**
 * A gRPC client that sends whatever bytes it is given as the request message: nothing is encoded on
 * this side, so undecodable protobuf reaches the server's deserializer. Every call has a deadline.
 */
export class RawClient {
  private readonly client: Client;

  constructor(address: string, options: { maxSendBytes?: number } = {}) {
    this.client = new Client(address, credentials.createInsecure(), {
      'grpc.max_send_message_length': options.maxSendBytes ?? -1,
      'grpc.max_receive_message_length': -1,
      // One connection per client, not one shared by every client to the same address.
      'grpc.use_local_subchannel_pool': 1,
    });
  }

  unary(path: string, payload: Buffer, deadlineMs: number): Promise<Answer> {
    const started = Date.now();
    return new Promise((resolve) => {
      this.client.makeUnaryRequest(path, identity, identity, payload, new Metadata(), { deadline: new Date(started + deadlineMs) },
        (err: ServiceError | null, response?: Buffer) => {
          resolve({ code: err ? err.code : status.OK, details: err?.details ?? '', ms: Date.now() - started, messages: err ? 0 : 1, field: fieldOf(err?.metadata), response });
        });
    });
  }

  serverStream(path: string, payload: Buffer, deadlineMs: number): Promise<Answer> {
    const started = Date.now();
    return new Promise((resolve) => {
      let messages = 0;
      const call = this.client.makeServerStreamRequest(path, identity, identity, payload, new Metadata(), { deadline: new Date(started + deadlineMs) });
      call.on('data', () => (messages += 1));
      // 'status' comes once, after the last message or with the error; 'error' alone would miss an OK end.
      call.on('error', () => {});
      call.on('status', (s: { code: status; details: string; metadata: Metadata }) =>
        resolve({ code: s.code, details: s.details, ms: Date.now() - started, messages, field: fieldOf(s.metadata) }));
    });
  }

  close(): void {
    this.client.close();
  }
}
