import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { tf } from '@selftrain/compute';
import type { AugmentSettings, Example, ImageShape } from './batch';
import type { BatchLossScale } from './classifier-gradients';
import { variableShapes } from './trainable-variables';

/** The first message a gradient worker gets: what to rebuild and how to read the shards it will get. */
export interface ReplicaInit {
  kind: 'init';
  backend: string;
  /** The model's topology (LayersModel.toJSON); the weights come with every step. */
  topology: object;
  /** The trainable variables' shapes, in order, checked against the rebuilt model. */
  variableShapes: string;
  shape: ImageShape;
  numClasses: number;
  augment: AugmentSettings;
}

export interface ReplicaStep {
  kind: 'step';
  id: number;
  /** The current value of every trainable variable, in order. */
  weights: Float32Array[];
  /** The shard: its human-labeled examples first, then its pseudo-labeled ones. */
  examples: Example[];
  humanCount: number;
  scale: BatchLossScale;
  /** Seeds the shard's augmentation (drawn from the trainer's seeded stream). */
  seed: number;
}

export type ReplicaReply =
  | { kind: 'ready' }
  | {
    kind: 'gradients'; id: number; grads: Float32Array[]; loss: number; humanSum: number; pseudoSum: number;
    /** Tensors the worker holds after the step: the model's weights and nothing more, step after step. */
    tensorsHeld: number;
  }
  | { kind: 'error'; id?: number; message: string };

export type ReplicaGradients = Extract<ReplicaReply, { kind: 'gradients' }>;

/**
 * Synchronous data parallelism over worker threads, for backends that run one thread (wasm in Node).
 * Every step the batch is cut into shards; the main thread computes the first shard's gradients while
 * each worker computes another's from the same weights, and the sum is one SGD step on the whole batch
 * (see BatchLossScale). Workers hold no weights of their own between steps, so the optimizer, the
 * checkpoints and a resume stay exactly as with one thread. Batch-norm moving statistics come from the
 * main thread's shard only, as with per-device batch norm on several GPUs.
 */
export class GradientReplicas {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(r: ReplicaGradients): void; reject(e: Error): void }>();
  private failure: Error | undefined;

  private constructor(private readonly workers: Worker[]) {
    for (const w of workers) {
      w.on('message', (r: ReplicaReply) => this.settle(r));
      w.on('error', (err) => this.fail(new Error(`gradient worker failed: ${err.message}`)));
      w.on('exit', (code) => { if (code !== 0) this.fail(new Error(`gradient worker exited with code ${code}`)); });
    }
  }

  /** Starts `count` workers that can compute `model`'s gradients; resolves once every one has rebuilt it. */
  static async start(count: number, model: tf.LayersModel, settings: Omit<ReplicaInit, 'kind' | 'topology' | 'variableShapes'>): Promise<GradientReplicas> {
    const init: ReplicaInit = {
      kind: 'init', ...settings, topology: model.toJSON(undefined, false) as object,
      variableShapes: variableShapes(model),
    };
    const workers = Array.from({ length: count }, () => new Worker(path.join(__dirname, 'gradient-worker.js')));
    try {
      await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => {
        const onMessage = (r: ReplicaReply) => {
          w.off('error', reject);
          if (r.kind === 'ready') resolve();
          else reject(new Error(`gradient worker did not start: ${r.kind === 'error' ? r.message : r.kind}`));
        };
        w.once('message', onMessage);
        w.once('error', reject);
        w.postMessage(init);
      })));
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw err;
    }
    return new GradientReplicas(workers);
  }

  get size(): number {
    return this.workers.length;
  }

  /** One shard per worker (`shards.length` must equal `size`), all from the same weights. */
  compute(weights: Float32Array[], shards: Omit<ReplicaStep, 'kind' | 'id' | 'weights'>[]): Promise<ReplicaGradients[]> {
    if (shards.length !== this.workers.length) throw new Error(`${shards.length} shards for ${this.workers.length} gradient workers`);
    return Promise.all(shards.map((shard, i) => new Promise<ReplicaGradients>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.workers[i].postMessage({ kind: 'step', id, weights, ...shard } satisfies ReplicaStep);
    })));
  }

  async dispose(): Promise<void> {
    this.fail(new Error('gradient workers stopped'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private settle(r: ReplicaReply): void {
    if (r.kind === 'ready') return;
    const waiter = r.id === undefined ? undefined : this.pending.get(r.id);
    if (r.kind === 'error') {
      if (!waiter) return this.fail(new Error(`gradient worker failed: ${r.message}`));
      this.pending.delete(r.id!);
      return waiter.reject(new Error(`gradient worker failed: ${r.message}`));
    }
    this.pending.delete(r.id);
    waiter?.resolve(r);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.pending.values()) w.reject(err);
    this.pending.clear();
  }
}

/**
 * Cuts a batch into `parts` shards with its human and pseudo rows spread as evenly as they go (each
 * shard: its human rows, then its pseudo rows).
 */
export function splitBatch(human: Example[], pseudo: Example[], parts: number): { examples: Example[]; humanCount: number }[] {
  const cut = <T>(rows: T[], i: number) => rows.slice(Math.floor((rows.length * i) / parts), Math.floor((rows.length * (i + 1)) / parts));
  return Array.from({ length: parts }, (_, i) => {
    const h = cut(human, i);
    return { examples: h.concat(cut(pseudo, i)), humanCount: h.length };
  });
}
