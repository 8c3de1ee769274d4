// Decoding images on every core: worker threads, each running decodeImage on batches of files.
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { InputError } from '@selftrain/errors';
// On glibc Linux sharp must be loaded by the main thread before any worker loads it, so its shared
// libraries outlive the workers (sharp's documentation, "worker threads").
import 'sharp';
import type { DecodedPhoto, DecodeOptions } from './image-decode';

/** A file to read and decode, or bytes already read (`where` names them in errors). */
export type DecodeSource = string | { bytes: Uint8Array; where: string };

export interface DecodeJob {
  path?: string;
  bytes?: Uint8Array;
  where: string;
  opts: DecodeOptions;
}

export type DecodeRequest = { id: number; jobs: DecodeJob[] };
/** Each result's pixels are a slice [at, at + length) of the one transferred `pixels` buffer. */
export type DecodeResult = { photo: Omit<DecodedPhoto, 'pixels'>; at: number; length: number } | { error: { message: string; field?: string } };
export type DecodeReply = { id: number; results: DecodeResult[]; pixels: ArrayBuffer };

export interface DecodePoolOptions {
  /** Worker threads (default: every core, os.availableParallelism()). */
  threads?: number;
  /** Images per message to a worker (default 16): fewer messages for small images. */
  batchSize?: number;
}

interface Waiting {
  job: DecodeJob;
  resolve(p: DecodedPhoto): void;
  reject(e: Error): void;
}

interface Slot {
  worker: Worker;
  inFlight: Map<number, Waiting[]>;
}

/** Messages a worker holds at once: one decoding, one queued behind it so it never waits on the main thread. */
const MESSAGES_PER_WORKER = 2;

/**
 * A decode worker's young generation, in MiB. Its live objects are a batch's promises and sharp pipelines
 * (pixels and file bytes live outside the heap), but V8 grows the young generation with the allocation rate
 * over the run, to 16 MiB semi-spaces (32 MiB a worker): measured, the workers' heaps were 24 MiB each after
 * 2,000 images and 40 MiB after 20,000, most of an ingest's peak-RSS growth with the file count. At 4 MiB
 * they stay at 10-12 MiB whatever the count, for a few more (cheap) scavenges.
 */
const WORKER_YOUNG_GENERATION_MB = 4;

/**
 * decodeImage on worker threads. Calls queue up and go out in batches to whichever worker has room, so
 * a caller can simply `Promise.all` a split's files (or keep a window of them in flight). A bad file
 * rejects only its own call, with the InputError decodeImage throws. Workers start on first use and keep
 * the process alive only while calls wait on them; a worker that dies fails its calls, and the next call
 * starts a new one.
 */
export class DecodePool {
  readonly threads: number;
  private readonly batchSize: number;
  private readonly slots: (Slot | undefined)[];
  private readonly queue: Waiting[] = [];
  private nextId = 0;
  private pumpScheduled = false;
  private closed = false;

  constructor(opts: DecodePoolOptions = {}) {
    this.threads = Math.max(1, opts.threads ?? availableParallelism());
    this.batchSize = Math.max(1, opts.batchSize ?? 16);
    this.slots = new Array(this.threads).fill(undefined);
  }

  decode(source: DecodeSource, opts: DecodeOptions): Promise<DecodedPhoto> {
    if (this.closed) return Promise.reject(new Error('decode pool closed'));
    const job: DecodeJob = typeof source === 'string' ? { path: source, where: source, opts } : { bytes: source.bytes, where: source.where, opts };
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      // Gather the calls made in this tick before sending, so they travel in batches.
      if (!this.pumpScheduled) {
        this.pumpScheduled = true;
        setImmediate(() => {
          this.pumpScheduled = false;
          this.pump();
        });
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const err = new Error('decode pool closed');
    for (const w of this.queue.splice(0)) w.reject(err);
    const running = this.slots.filter((s): s is Slot => s !== undefined);
    this.slots.fill(undefined);
    for (const s of running) this.fail(s, err);
    await Promise.all(running.map((s) => s.worker.terminate()));
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const i = this.freeSlot();
      if (i < 0) return;
      const slot = this.slots[i] ?? this.start(i);
      // Spread a short queue over all workers rather than filling the first one.
      const n = Math.min(this.batchSize, Math.max(1, Math.ceil(this.queue.length / this.threads)));
      const batch = this.queue.splice(0, n);
      const id = this.nextId++;
      slot.inFlight.set(id, batch);
      slot.worker.ref();
      slot.worker.postMessage({ id, jobs: batch.map((w) => w.job) } satisfies DecodeRequest);
    }
  }

  /** The index of the least busy slot with room (a slot not started yet counts as idle), or -1. */
  private freeSlot(): number {
    let best = -1;
    let load = MESSAGES_PER_WORKER;
    for (let i = 0; i < this.slots.length; i++) {
      const n = this.slots[i]?.inFlight.size ?? 0;
      if (n < load) {
        best = i;
        load = n;
        if (n === 0) break;
      }
    }
    return best;
  }

  private start(i: number): Slot {
    const worker = new Worker(path.join(__dirname, 'decode-pool-worker.js'), { resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
    worker.unref();
    const slot: Slot = { worker, inFlight: new Map() };
    worker.on('message', (reply: DecodeReply) => {
      const batch = slot.inFlight.get(reply.id);
      slot.inFlight.delete(reply.id);
      if (slot.inFlight.size === 0) worker.unref();
      batch?.forEach((w, k) => settle(w, reply.results[k], reply.pixels));
      this.pump();
    });
    const lost = (why: string) => {
      if (this.slots[i] === slot) this.slots[i] = undefined;
      this.fail(slot, new Error(`decode worker ${why}`));
      this.pump();
    };
    worker.on('error', (err) => lost(`failed: ${err.message}`));
    worker.on('exit', (code) => lost(`exited with code ${code}`));
    this.slots[i] = slot;
    return slot;
  }

  private fail(slot: Slot, err: Error): void {
    for (const batch of slot.inFlight.values()) for (const w of batch) w.reject(err);
    slot.inFlight.clear();
  }
}

function settle(w: Waiting, r: DecodeResult, pixels: ArrayBuffer): void {
  if ('error' in r) {
    const e = r.error;
    w.reject(e.field !== undefined ? new InputError(e.field, e.message.slice(`${e.field}: `.length)) : new Error(`decode worker: ${e.message}`));
    return;
  }
  w.resolve({ ...r.photo, pixels: new Uint8Array(pixels, r.at, r.length) });
}
