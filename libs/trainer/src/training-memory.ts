import { buildTaskModel, type ModelTask } from '@selftrain/checkpoints';
import { tf } from '@selftrain/compute';
import { InputError, OverloadedError, SelftrainError } from '@selftrain/errors';
import type { ImageShape, ResolvedTrainOptions } from '@selftrain/train';
import { trainableVariables } from '@selftrain/train';

/**
 * tfjs-backend-wasm's heap is a wasm32 memory: it grows up to 4 GiB - 64 KiB (its getHeapMax) and no
 * further. Past it an allocation fails inside the module and the module faults ("memory access out of
 * bounds") with its state broken for every later call: the heap limit is a wall, not a slowdown. Each
 * thread that computes (the main one, and each gradient worker) has a heap of its own.
 */
export const WASM_HEAP_LIMIT_BYTES = 4 * 2 ** 30 - 2 ** 16;

/**
 * Copies of the weights a training step keeps on the main thread's heap: the weights, their gradients,
 * SGD's momentum, and the update's temporaries; a gradient worker keeps the weights it was sent, its
 * gradients and the copy it sends back.
 */
const MAIN_WEIGHT_COPIES = 4;
const WORKER_WEIGHT_COPIES = 3;

/**
 * The measured peak of one image's forward and backward pass, times this, is what an image costs a real
 * training step: the loss, augmentation, batch building and the heap's growth in steps (emscripten grows
 * it by 20 % or more at a time) come on top. Calibrated on the real teacher job, wasm heap high-water
 * after two steps (README, "Training memory"): the measured heap was 0.6-0.9x of this estimate.
 */
const PER_IMAGE_MARGIN = 1.5;

/** What a model costs to train, measured once per architecture and input (see modelFootprint). */
export interface ModelFootprint {
  /** Weights, in bytes (float32). */
  weightBytes: number;
  /** One image through a training step's forward and backward pass: the peak of tensor bytes it adds. */
  perImageBytes: number;
}

/** A training job's memory, as estimated before it starts. */
export interface TrainingMemoryEstimate {
  /** The largest single heap (the main thread's): on wasm it must stay under WASM_HEAP_LIMIT_BYTES. */
  heapBytes: number;
  /** Every heap together (the main thread's and the gradient workers'). */
  totalBytes: number;
  /** Threads the batch is split over (gradient workers + 1; 1 off wasm and for the tasks that do not split). */
  threads: number;
  /** Images each thread takes per step. */
  imagesPerThread: number;
  footprint: ModelFootprint;
}

/** Where a process's training memory ends: the budget for all its jobs together, and wasm's per-heap wall. */
export interface TrainingMemoryLimits {
  /** Bytes all training jobs of the process may use together. */
  budgetBytes: number;
  /** Where the budget comes from (TRAIN_MEMORY_BUDGET_MB, the cgroup's memory.max, the machine's memory). */
  budgetSource: string;
  /** Bytes one heap may hold (wasm's limit on the wasm backend; none elsewhere). */
  heapLimitBytes?: number;
}

const footprints = new Map<string, ModelFootprint>();

/**
 * The footprint of the model `o` and the task give for images of `shape`, measured, not guessed: the
 * model is built and one training step's forward and backward pass is run under tf.profile at 1 and 2
 * images, and the difference of their peaks is one image's cost. Widths above 1 are measured at width 1
 * and scaled (activations grow linearly with width, weights at most quadratically), so a request for a
 * model too big to build is never built. Cached per architecture and input shape.
 */
export async function modelFootprint(o: ResolvedTrainOptions, shape: ImageShape, numClasses: number, task: ModelTask): Promise<ModelFootprint> {
  const probeWidth = Math.min(o.width, 1);
  const key = JSON.stringify([task, o.model, probeWidth, shape.height, shape.width, shape.channels, numClasses]);
  let measured = footprints.get(key);
  if (!measured) {
    measured = await measure({ ...o, width: probeWidth, initCheckpoint: '' }, shape, numClasses, task);
    footprints.set(key, measured);
  }
  const scale = o.width / probeWidth;
  return { weightBytes: measured.weightBytes * scale * scale, perImageBytes: measured.perImageBytes * scale };
}

async function measure(o: ResolvedTrainOptions, shape: ImageShape, numClasses: number, task: ModelTask): Promise<ModelFootprint> {
  let model: tf.LayersModel;
  try {
    model = buildTaskModel(o, shape, numClasses, task);
  } catch (err) {
    if (err instanceof SelftrainError) throw err;
    // The zoo's own checks (e.g. stochastic depth on a model without residual blocks): the request's doing.
    throw new InputError('options.model', `${o.model} cannot be built for ${shape.height}x${shape.width}x${shape.channels} images with these options: ${(err as Error).message}`, { cause: err });
  }
  try {
    const variables = trainableVariables(model);
    const peakOf = async (images: number): Promise<number> => {
      const before = tf.memory().numBytes;
      const info = await tf.profile(() => {
        tf.tidy(() => {
          const x = tf.zeros([images, shape.height, shape.width, shape.channels]);
          // A loss over every output: the gradients reach every layer, as the task's own loss does.
          tf.variableGrads(() => {
            const outputs = model.apply(x, { training: true }) as tf.Tensor | tf.Tensor[];
            return tf.addN((Array.isArray(outputs) ? outputs : [outputs]).map((t) => tf.sum(tf.square(t)))) as tf.Scalar;
          }, variables);
        });
      });
      return info.peakBytes - before;
    };
    const one = await peakOf(1);
    const two = await peakOf(2);
    return { weightBytes: 4 * model.countParams(), perImageBytes: Math.max(two - one, 0) };
  } finally {
    model.dispose();
  }
}

/**
 * The memory of a training job of `batchSize` images per step: every thread's heap holds its share of
 * the batch's activations and its copies of the weights. Classification on wasm splits each batch over
 * `trainThreads` threads (GradientReplicas); the other tasks and backends run one.
 */
export function estimateTrainingMemory(footprint: ModelFootprint, o: ResolvedTrainOptions, task: ModelTask, backend: string, trainThreads: number): TrainingMemoryEstimate {
  const splits = task === 'classification' && backend === 'wasm' && !o.auxiliaryDataset && o.objective !== 'simclr';
  const threads = splits ? Math.max(1, Math.floor(trainThreads)) : 1;
  // SimCLR trains on two augmented views of every image.
  const images = o.objective === 'simclr' ? 2 * o.batchSize : o.batchSize;
  const imagesPerThread = Math.ceil(images / threads);
  const activations = imagesPerThread * footprint.perImageBytes * PER_IMAGE_MARGIN;
  const heapBytes = MAIN_WEIGHT_COPIES * footprint.weightBytes + activations;
  const workerBytes = WORKER_WEIGHT_COPIES * footprint.weightBytes + activations;
  return { heapBytes, totalBytes: heapBytes + (threads - 1) * workerBytes, threads, imagesPerThread, footprint };
}

export function formatBytes(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${Math.max(1, Math.round(bytes / 2 ** 20))} MiB`;
}

/** The largest batch under `o.batchSize` whose estimate `fits` (0 when not even 2 images do). */
function largestBatch(footprint: ModelFootprint, o: ResolvedTrainOptions, task: ModelTask, backend: string, threads: number, fits: (e: TrainingMemoryEstimate) => boolean): number {
  let best = 0;
  let lo = 2;
  let hi = o.batchSize - 1;
  while (lo <= hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(estimateTrainingMemory(footprint, { ...o, batchSize: mid }, task, backend, threads))) {
      best = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return best;
}

export interface MemoryReservation {
  estimate: TrainingMemoryEstimate;
  /** Gives the memory back (once; later calls do nothing). */
  release(): void;
}

/**
 * A process's training memory: each job's estimate is checked against the limits before it starts and
 * held while it runs. A job that can never fit is refused with INVALID_ARGUMENT naming the option and the
 * limit (never RESOURCE_EXHAUSTED: to this project's clients that means "busy, try again", and this
 * request would never fit this process); one that only fits once the running jobs end gets
 * RESOURCE_EXHAUSTED, and the driver waits for it.
 */
export class TrainingMemory {
  private heldHeap = 0;
  private heldTotal = 0;

  constructor(readonly limits: TrainingMemoryLimits) {}

  /** Bytes held by running jobs: the main heap's share and the total. */
  held(): { heapBytes: number; totalBytes: number } {
    return { heapBytes: this.heldHeap, totalBytes: this.heldTotal };
  }

  reserve(footprint: ModelFootprint, o: ResolvedTrainOptions, task: ModelTask, backend: string, trainThreads: number): MemoryReservation {
    const e = estimateTrainingMemory(footprint, o, task, backend, trainThreads);
    const { budgetBytes, budgetSource, heapLimitBytes } = this.limits;
    const alone = (x: TrainingMemoryEstimate) => x.totalBytes <= budgetBytes && (heapLimitBytes === undefined || x.heapBytes <= heapLimitBytes);
    if (!alone(e)) {
      const what = `${o.model} at width ${o.width} on ${task}`;
      const wall = heapLimitBytes !== undefined && e.heapBytes > heapLimitBytes
        ? `${formatBytes(e.heapBytes)} on one wasm heap (${e.imagesPerThread} images on each of ${e.threads} thread(s)), over wasm's ${formatBytes(heapLimitBytes)} heap limit`
        : `${formatBytes(e.totalBytes)}, over this process's training memory budget of ${formatBytes(budgetBytes)} (${budgetSource})`;
      const largest = largestBatch(e.footprint, o, task, backend, trainThreads, alone);
      if (largest === 0) {
        throw new InputError('options.width', `${what} needs ${formatBytes(e.footprint.weightBytes)} of weights, too many to train even 2 images per step here: ${wall}; use a smaller width or model`);
      }
      throw new InputError('options.batch_size', `${o.batchSize} images per step of ${what} need about ${wall}; at most ${largest} fit (the estimate: ${formatBytes(e.footprint.perImageBytes * PER_IMAGE_MARGIN)} per image, ${formatBytes(e.footprint.weightBytes)} of weights)`);
    }
    const heap = this.heldHeap + e.heapBytes;
    const total = this.heldTotal + e.totalBytes;
    if (total > budgetBytes || (heapLimitBytes !== undefined && heap > heapLimitBytes)) {
      throw new OverloadedError(`the running training jobs hold ${formatBytes(this.heldTotal)} of this process's ${formatBytes(budgetBytes)} training memory budget and this job needs ${formatBytes(e.totalBytes)}; retry when one ends`);
    }
    this.heldHeap = heap;
    this.heldTotal = total;
    let released = false;
    return {
      estimate: e,
      release: () => {
        if (released) return;
        released = true;
        this.heldHeap -= e.heapBytes;
        this.heldTotal -= e.totalBytes;
      },
    };
  }
}
