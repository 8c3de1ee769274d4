// Decoding and encoding whole shards, on this thread or on a worker thread beside it.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { CorruptDataError, InputError } from '@selftrain/errors';
import type { ImageRecord } from './image-example';
import { readShard, writeShard } from './shard';

/** readShard / writeShard behind a promise, so a caller need not know which thread runs them. */
export interface ShardCodec {
  read(bytes: Uint8Array, objectName: string): Promise<ImageRecord[]>;
  write(records: ImageRecord[]): Promise<Buffer>;
  close(): Promise<void>;
}

/** On the calling thread (tests, tools, one-off reads). */
export const inlineShardCodec: ShardCodec = {
  read: async (bytes, objectName) => readShard(bytes, objectName),
  write: async (records) => writeShard(records),
  close: async () => {},
};

/**
 * What crosses the thread boundary. Errors travel as data and are rebuilt as the class the inline call
 * throws (a CorruptDataError keeps its object and offset, an InputError its field), so gRPC statuses match.
 */
export type CodecRequest = { id: number; op: 'read'; bytes: Uint8Array; objectName: string } | { id: number; op: 'write'; records: ImageRecord[] };
export type CodecReply =
  | { id: number; records: ImageRecord[] }
  | { id: number; bytes: Uint8Array }
  | { id: number; error: CodecError };

export interface CodecError {
  message: string;
  corrupt?: { object: string; offset: number; detail: string };
  input?: { field: string; detail: string };
}

export function codecErrorOf(e: Error): CodecError {
  if (e instanceof CorruptDataError) {
    return { message: e.message, corrupt: { object: e.object, offset: e.offset, detail: e.message.slice(`${e.object} at byte ${e.offset}: `.length) } };
  }
  if (e instanceof InputError) return { message: e.message, input: { field: e.field, detail: e.message.slice(`${e.field}: `.length) } };
  return { message: e.message };
}

function errorFrom(e: CodecError): Error {
  if (e.corrupt) return new CorruptDataError(e.corrupt.object, e.corrupt.offset, e.corrupt.detail);
  if (e.input) return new InputError(e.input.field, e.input.detail);
  return new Error(`shard codec: ${e.message}`);
}

/**
 * One worker thread that decodes and encodes shards. A labeler keeps two shards in flight: while the main
 * thread runs one shard's inference, the worker decodes the next one's PNGs (PNG decode plus TFRecord CRCs
 * are about a tenth of a shard's inference time, which the main thread would otherwise add to it).
 * The records it reads share two buffers (pixels, PNGs) per shard: keeping one record keeps its shard's
 * pixels, so it suits a shard's worth of short-lived work.
 * The worker starts on first use and keeps the process alive only while a call waits on it; if it dies, the
 * calls it held fail with the reason and the next call starts a new one.
 */
export class WorkerShardCodec implements ShardCodec {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(r: CodecReply): void; reject(e: Error): void }>();

  read(bytes: Uint8Array, objectName: string): Promise<ImageRecord[]> {
    return this.send({ id: this.nextId++, op: 'read', bytes, objectName }).then((r) => (r as { records: ImageRecord[] }).records);
  }

  write(records: ImageRecord[]): Promise<Buffer> {
    return this.send({ id: this.nextId++, op: 'write', records }).then((r) => {
      const bytes = (r as { bytes: Uint8Array }).bytes;
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.failAll(new Error('shard codec closed'));
    await w?.terminate();
  }

  private send(req: CodecRequest): Promise<CodecReply> {
    return new Promise((resolve, reject) => {
      const w = this.started();
      this.pending.set(req.id, { resolve, reject });
      w.ref(); // held while a call waits on it, so the process cannot exit under a pending read
      w.postMessage(req);
    }).then((reply) => {
      const r = reply as CodecReply;
      if ('error' in r) throw errorFrom(r.error);
      return r;
    });
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(path.join(__dirname, 'shard-codec-worker.js'));
    w.unref();
    w.on('message', (r: CodecReply) => {
      const waiter = this.pending.get(r.id);
      this.pending.delete(r.id);
      if (this.pending.size === 0) w.unref();
      waiter?.resolve(r);
    });
    const lost = (why: string) => {
      if (this.worker === w) this.worker = undefined;
      this.failAll(new Error(`shard codec worker ${why}`));
    };
    w.on('error', (err) => lost(`failed: ${err.message}`));
    w.on('exit', (code) => lost(`exited with code ${code}`));
    this.worker = w;
    return w;
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
