import { createRng, type Rng } from '@selftrain/random';
import { tf } from '@selftrain/compute';
import { CancelledError, InputError } from '@selftrain/errors';
import type { Logger } from '@selftrain/logger';
import type { Artifact, CurvePoint, Progress, TrainResult } from '@selftrain/proto';
import { imagesToTensor, type AugmentSettings, type ImageShape } from './batch';
import { cosineLearningRate } from './learning-rate';
import { ntXent, NT_XENT_DEFAULT_TEMPERATURE } from './nt-xent';
import { SgdMomentum } from './sgd-momentum';
import type { TrainingState } from './train-classifier';
import { buildProjectionHead, DEFAULT_PROJECTION, simclrEncoder, type ProjectionDims } from './train-simclr-model';
import { TEACHER_DEFAULTS, type ResolvedTrainOptions } from './train-options';
import { trainableVariables } from './trainable-variables';

/**
 * Defaults for pretraining (pass to resolveTrainOptions): the strongest augmentation (s4: RandAugment,
 * flip, scale jitter 0.5-2.0, which is SimCLR's crop-and-resize), no dropout (the views are the noise; the
 * encoder's output passes the model's dropout layer), light weight decay, no early stopping.
 */
export const SIMCLR_DEFAULTS: ResolvedTrainOptions = {
  ...TEACHER_DEFAULTS, batchSize: 64, maxSteps: 2000, learningRate: 0.1, momentum: 0.9, weightDecay: 1e-4,
  warmupSteps: 100, checkpointEvery: 500, evalEvery: 200, patience: 0, augment: 's4', dropout: 0,
};

export interface TrainSimclrInput {
  /** A zoo classifier (buildModel); its 'logits' layer is not trained and keeps its initialisation. */
  model: tf.LayersModel;
  shape: ImageShape;
  /** The unlabeled pool (any label fields are ignored). */
  images: { image: Uint8Array }[];
  /** Held-out images for the progress metric (labels unused); at least 2. */
  validation: { image: Uint8Array }[];
  /** batchSize = images per step (2 views each), augment = the views' level (SIMCLR_DEFAULTS: s4). */
  options: ResolvedTrainOptions;
  /** NT-Xent τ, default 0.5. */
  temperature?: number;
  /** Projection head widths, default 128 -> 64. */
  projection?: ProjectionDims;
  /**
   * Persists `model`, the whole classifier (its 'logits' layer at its random init, so transferWeights
   * skips it); 'best' is the highest validation contrastive top-1, 'last' the periodic checkpoint with
   * the loop's state. The projection head is not part of the model and is never in the weights.
   */
  saveCheckpoint(kind: 'best' | 'last', step: number, meta: Record<string, unknown>, state?: TrainingState): Promise<Artifact>;
  /** Continue from a 'last' checkpoint's state (the model already holds that checkpoint's weights). */
  resume?: TrainingState;
  onProgress?(progress: Progress, message?: string, checkpoint?: Artifact): void;
  signal?: AbortSignal;
  logger?: Logger;
  backend: string;
}

/**
 * Self-supervised pretraining in the SimCLR manner (Chen et al. 2020): two independently augmented views
 * of every image, encoder -> projection head -> NT-Xent, SGD + momentum under cosine decay with warmup.
 * Trains the encoder (the model up to the input of 'logits') so its checkpoint is an init for any label
 * space.
 *
 * Metrics: `valTop1` (Progress, CurvePoint, TrainResult.bestValTop1) is the contrastive top-1 on the
 * validation images: the fraction of views whose most similar other view, among the 2B views of a chunk of
 * B = min(batchSize, validation.length) images, is the other view of the same image (chance 1/(2B-1)); the
 * views are the same at every evaluation. `loss` is the running NT-Xent of the training batches.
 * `imagesPerSecond` counts views (two per image), the network's throughput, comparable with
 * trainClassifier's.
 *
 * Resume: the state is a TrainingState (so the checkpoints lib stores it as is) whose `optimizer` holds
 * the encoder's velocities, then the head's velocities, then the head's weights, each in trainable-weight
 * order; a resumed run continues the same head. `normalizer` is unused (zeros).
 */
export async function trainSimclr(input: TrainSimclrInput): Promise<TrainResult> {
  const { model, shape, options: o } = input;
  const temperature = input.temperature ?? NT_XENT_DEFAULT_TEMPERATURE;
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new InputError('temperature', `must be a positive number, got ${temperature}`);
  if (input.images.length < 2) throw new InputError('images', `needs at least 2 unlabeled images, got ${input.images.length}`);
  if (input.validation.length < 2) throw new InputError('validation', `needs at least 2 images for the contrastive metric, got ${input.validation.length}`);
  const r = input.resume;
  // A resumed job draws a fresh, still seeded stream: the same step count, not bit-identical batches.
  const rng = createRng(o.seed + (r?.step ?? 0));
  const augment: AugmentSettings = { level: o.augment, randAugmentN: o.randAugmentN, randAugmentM: o.randAugmentM };
  const encoder = simclrEncoder(model);
  const featureDim = encoder.outputs[0].shape.at(-1) as number;
  const head = buildProjectionHead(featureDim, input.projection ?? DEFAULT_PROJECTION, o.seed + 7);
  const optimizer = new SgdMomentum(o.momentum, o.weightDecay);
  const encoderVars = trainableVariables(encoder);
  const headVars = trainableVariables(head);
  const variables = [...encoderVars, ...headVars];
  const curve: CurvePoint[] = r ? [...r.curve] : [];
  let order = shuffled(input.images.length, rng);
  let cursor = 0;
  let best: Artifact | undefined = r?.best;
  let last: Artifact | undefined;
  let lastStep = -1;
  let bestTop1 = r?.bestTop1 ?? -1;
  let sinceBest = r?.sinceBest ?? 0;
  let lossAvg = r?.lossAvg ?? 0;
  let step = r?.step ?? 0;
  const startStep = step;
  const started = Date.now();
  let viewsSeen = 0;

  const state = (): TrainingState => ({
    step, lossAvg, bestTop1, sinceBest, imagesSeen: (r?.imagesSeen ?? 0) + viewsSeen, curve: [...curve], best,
    normalizer: { humanAvg: 0, pseudoAvg: 0, seen: 0 },
    optimizer: [...optimizer.exportState(variables), ...headVars.map((v) => Float32Array.from(v.dataSync() as Float32Array))],
  });
  const saveLast = async (meta: Record<string, unknown>) => {
    last = await input.saveCheckpoint('last', step, { ...meta, step, objective: 'simclr' }, state());
    lastStep = step;
    return last;
  };

  const nextBatch = (): { image: Uint8Array }[] => {
    const batch: { image: Uint8Array }[] = [];
    while (batch.length < o.batchSize) {
      if (cursor >= order.length) { order = shuffled(input.images.length, rng); cursor = 0; }
      batch.push(input.images[order[cursor++]]);
    }
    return batch;
  };

  // Same seed every time: each evaluation scores the same views, so the numbers are comparable. Chunks of
  // batchSize images (the training task's difficulty); a remainder smaller than that is left out, since
  // fewer negatives would make it easier.
  const chunk = Math.min(o.batchSize, input.validation.length);
  const evaluate = async (): Promise<{ top1: number; loss: number }> => {
    const evalRng = createRng(o.seed + 0x51ac1e);
    let correct = 0;
    let lossSum = 0;
    let views = 0;
    for (let start = 0; start + chunk <= input.validation.length; start += chunk) {
      const part = input.validation.slice(start, start + chunk);
      const [a, b] = [evalRng.fork(), evalRng.fork()];
      const [top1, loss] = tf.tidy(() => {
        const z = head.apply(encoder.apply(twoViews(part, shape, augment, a, b), { training: false }), { training: false }) as tf.Tensor2D;
        const result = ntXent(z.slice(0, part.length), z.slice(part.length, part.length), temperature);
        return [result.accuracy.dataSync()[0], result.loss.dataSync()[0]];
      });
      correct += top1 * 2 * part.length;
      lossSum += loss * 2 * part.length;
      views += 2 * part.length;
      await new Promise((resolve) => setImmediate(resolve));
    }
    return { top1: correct / views, loss: lossSum / views };
  };

  const progress = (): Progress => {
    const seconds = (Date.now() - started) / 1000;
    const ips = viewsSeen / Math.max(seconds, 1e-3);
    return {
      step, totalSteps: o.maxSteps, loss: lossAvg, learningRate: cosineLearningRate(step, o.learningRate, o.maxSteps, o.warmupSteps),
      imagesPerSecond: ips, etaSeconds: ((o.maxSteps - step) * 2 * o.batchSize) / Math.max(ips, 1e-3),
      valTop1: Math.max(bestTop1, 0), humanLoss: 0, pseudoLoss: 0,
    };
  };

  try {
    if (r) {
      restoreState(optimizer, encoderVars, headVars, r.optimizer);
      input.logger?.info({ step, bestTop1 }, 'resuming SimCLR pretraining from the last checkpoint');
    }
    for (; step < o.maxSteps; ) {
      if (input.signal?.aborted) {
        await saveLast({ interrupted: true });
        throw input.signal.reason instanceof Error ? input.signal.reason : new CancelledError('cancelled');
      }
      const batch = nextBatch();
      const lr = cosineLearningRate(step, o.learningRate, o.maxSteps, o.warmupSteps);
      // Two forks per step: the views of one image are independent draws, and neither stream depends on
      // how many random numbers the other view's augmentations happened to take.
      const [viewA, viewB] = [rng.fork(), rng.fork()];
      const lossValue = tf.tidy(() => {
        const x = twoViews(batch, shape, augment, viewA, viewB);
        // One forward pass over all 2N views: batch norm sees both views together (SimCLR's global BN).
        const { value, grads } = tf.variableGrads(() => {
          const z = head.apply(encoder.apply(x, { training: true }), { training: true }) as tf.Tensor2D;
          return ntXent(z.slice(0, batch.length), z.slice(batch.length, batch.length), temperature).loss;
        }, variables);
        optimizer.apply(variables, grads, lr);
        return value.dataSync()[0];
      });
      if (!Number.isFinite(lossValue)) throw new Error(`NT-Xent loss is ${lossValue} at step ${step}; lower options.learning_rate`);
      lossAvg = step === startStep && !r ? lossValue : 0.95 * lossAvg + 0.05 * lossValue;
      step += 1;
      viewsSeen += 2 * batch.length;

      const evalNow = step % o.evalEvery === 0 || step === o.maxSteps;
      let message = '';
      let checkpoint: Artifact | undefined;
      if (evalNow) {
        const val = await evaluate();
        curve.push({ step, loss: lossAvg, valTop1: val.top1, learningRate: lr });
        if (val.top1 > bestTop1) {
          bestTop1 = val.top1;
          sinceBest = 0;
          best = await input.saveCheckpoint('best', step, { step, valTop1: val.top1, valLoss: val.loss, objective: 'simclr', temperature });
          checkpoint = best;
        } else sinceBest += 1;
        message = `step ${step}: contrastive top-1 ${val.top1.toFixed(4)} (best ${bestTop1.toFixed(4)}), val NT-Xent ${val.loss.toFixed(4)}`;
        input.logger?.info({ step, loss: lossAvg, valTop1: val.top1, valLoss: val.loss, lr }, 'evaluated');
      }
      if (step % o.checkpointEvery === 0) {
        const saved = await saveLast({});
        checkpoint ??= saved;
      }
      if (evalNow || step % 10 === 0) input.onProgress?.(progress(), message, checkpoint);
      if (o.patience > 0 && sinceBest >= o.patience) {
        input.logger?.info({ step, bestTop1 }, 'early stop: validation contrastive top-1 stopped improving');
        break;
      }
      // Let gRPC calls (Watch, Get, health) through between steps.
      await new Promise((resolve) => setImmediate(resolve));
    }
    // The finished encoder is the init: 'last' always holds the final weights.
    if (lastStep !== step) await saveLast({});
  } finally {
    optimizer.dispose();
    head.dispose();
  }
  const seconds = (Date.now() - started) / 1000;
  return {
    bestCheckpoint: best ?? last, lastCheckpoint: last, bestValTop1: Math.max(bestTop1, 0), steps: step, curve, resumedFromStep: startStep,
    backend: input.backend, imagesPerSecond: viewsSeen / Math.max(seconds, 1e-3),
  };
}

/** [2N,H,W,C]: rows 0..N-1 the first view of each image, rows N..2N-1 the second. */
function twoViews(images: { image: Uint8Array }[], shape: ImageShape, augment: AugmentSettings, a: Rng, b: Rng): tf.Tensor4D {
  return tf.tidy(() => tf.concat([imagesToTensor(images, shape, augment, a), imagesToTensor(images, shape, augment, b)], 0));
}

/** Inverse of the state's `optimizer` layout: encoder velocities, head velocities, head weights. */
function restoreState(optimizer: SgdMomentum, encoderVars: tf.Variable[], headVars: tf.Variable[], saved: (Float32Array | null)[]): void {
  const expected = encoderVars.length + 2 * headVars.length;
  if (saved.length !== expected) {
    throw new InputError('resume', `the state has ${saved.length} optimizer entries, SimCLR with this model and head needs ${expected}`);
  }
  const velocities = saved.slice(0, encoderVars.length + headVars.length);
  optimizer.importState([...encoderVars, ...headVars], velocities);
  headVars.forEach((v, i) => {
    const values = saved[encoderVars.length + headVars.length + i];
    if (!values || values.length !== v.size) throw new InputError('resume', `projection head weight ${i} has ${values?.length ?? 0} values, expected ${v.size}`);
    tf.tidy(() => v.assign(tf.tensor(values, v.shape)));
  });
}

function shuffled(n: number, rng: { int(n: number): number }): Int32Array {
  const a = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
