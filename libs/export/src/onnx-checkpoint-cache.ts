import type * as ort from 'onnxruntime-node';
import type { ObjectStore } from '@selftrain/storage';
import { writeModelInput, type ImageShape } from '@selftrain/train';
import { toProbabilities } from './class-teacher';
import { exportCheckpoint } from './export-checkpoint';
import { openOnnxSession, runOnnx } from './onnx-session';

/** A classification checkpoint exported to ONNX (its inference graph) and open on onnxruntime-node. */
export class OnnxCheckpointClassifier {
  constructor(
    private readonly session: ort.InferenceSession,
    private readonly inputName: string,
  ) {}

  /**
   * Class probabilities, row-major [images, K] in the checkpoint's class order: softmax(logits /
   * temperature), the input packed by the training's own writeModelInput, `batchSize` images per run.
   */
  async probabilities(images: readonly Uint8Array[], shape: ImageShape, opts: { batchSize: number; temperature?: number }): Promise<Float32Array> {
    const temperature = opts.temperature ?? 1;
    const size = shape.height * shape.width * shape.channels;
    let out = new Float32Array(0);
    for (let from = 0; from < images.length; from += opts.batchSize) {
      const batch = images.slice(from, from + opts.batchSize);
      const data = new Float32Array(batch.length * size);
      batch.forEach((img, i) => writeModelInput(data, i * size, img, shape));
      const { logits } = await runOnnx(this.session, { name: this.inputName, data, shape: [batch.length, shape.height, shape.width, shape.channels] });
      const k = logits.dims[1];
      if (from === 0) out = new Float32Array(images.length * k);
      for (let i = 0; i < batch.length; i++) toProbabilities(logits.data.subarray(i * k, (i + 1) * k), true, temperature, out.subarray((from + i) * k, (from + i + 1) * k));
    }
    return out;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/**
 * Classification checkpoints on onnxruntime, exported once per (key, sha256) and kept open, as ModelCache
 * keeps the TF.js ones; the `capacity` most recent. A checkpoint the exporter cannot write (a layer
 * outside the zoo's) gives undefined, logged once: the caller runs it on TF.js.
 */
export class OnnxCheckpointCache {
  private readonly entries = new Map<string, Promise<OnnxCheckpointClassifier | undefined>>();

  constructor(
    private readonly store: ObjectStore,
    private readonly options: {
      /** onnxruntime's threads per run; 1 by default: labelers and evaluators scale by process, one per core. */
      threads?: number;
      capacity?: number;
      /** Where the fallback to TF.js is said (a pino logger fits). */
      logger?: { warn(fields: object, message: string): void };
    } = {},
  ) {}

  get(key: string, sha256: string): Promise<OnnxCheckpointClassifier | undefined> {
    const id = `${key}@${sha256}`;
    let entry = this.entries.get(id);
    if (entry) {
      this.entries.delete(id);
    } else {
      entry = this.open(key);
      entry.catch(() => this.entries.delete(id));
    }
    this.entries.set(id, entry);
    while (this.entries.size > (this.options.capacity ?? 2)) {
      const [oldest, value] = this.entries.entries().next().value as [string, Promise<OnnxCheckpointClassifier | undefined>];
      this.entries.delete(oldest);
      void value.then((c) => c?.release(), () => undefined);
    }
    return entry;
  }

  async close(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.then((c) => c?.release(), () => undefined)));
  }

  private open(key: string): Promise<OnnxCheckpointClassifier | undefined> {
    return openOnnxCheckpointClassifier(this.store, key, { threads: this.options.threads ?? 1, logger: this.options.logger });
  }
}

/**
 * A classification checkpoint of `store` exported to ONNX and opened; undefined (said to `logger`) when
 * the exporter cannot write it, so that the caller runs it on TF.js. `threads`: onnxruntime's default, one
 * per core, when absent.
 */
export async function openOnnxCheckpointClassifier(
  store: ObjectStore, key: string, options: { threads?: number; logger?: { warn(fields: object, message: string): void } } = {},
): Promise<OnnxCheckpointClassifier | undefined> {
  let exported;
  try {
    exported = await exportCheckpoint(store, key, 'onnx');
  } catch (err) {
    options.logger?.warn({ checkpoint: key, err: (err as Error).message }, 'checkpoint not exportable to ONNX: running it on TF.js');
    return undefined;
  }
  const session = await openOnnxSession(exported.files[0].bytes, { threads: options.threads });
  return new OnnxCheckpointClassifier(session, exported.metadata.input_name);
}
