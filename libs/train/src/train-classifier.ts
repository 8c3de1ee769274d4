import { createRng } from '@selftrain/random';
import { tf } from '@selftrain/compute';
import { CancelledError } from '@selftrain/errors';
import type { Logger } from '@selftrain/logger';
import { argmaxRows, top1 } from '@selftrain/metrics';
import type { Artifact, CurvePoint, Progress, TrainResult } from '@selftrain/proto';
import { buildAuxiliaryHead } from './auxiliary-head';
import { imagesToTensor, targetsToTensor, type Example, type ImageShape } from './batch';
import { shardGradients, type BatchLossScale } from './classifier-gradients';
import { GradientReplicas, splitBatch } from './gradient-replicas';
import { cosineLearningRate } from './learning-rate';
import { LossNormalizer } from './loss-normalizer';
import { predictProbabilities } from './predict';
import { SgdMomentum } from './sgd-momentum';
import type { ResolvedTrainOptions } from './train-options';
import { trainableVariables } from './trainable-variables';

/** Where pseudo-labeled examples come from: a sampler over a stream (see ShuffleBuffer). */
export interface ExampleSampler {
  sample(n: number): Promise<Example[]>;
}

export interface PseudoLabelSettings {
  sampler: ExampleSampler;
  /** Fraction of each batch that is pseudo-labeled (the paper: 0.5). */
  fraction: number;
  alpha: number;
  normalizeLoss: boolean;
}

/** Joint training: labeled examples of another classification task, trained on the same encoder. */
export interface AuxiliaryTask {
  examples: Example[];
  numClasses: number;
  /** The auxiliary loss's weight against the task's. */
  weight: number;
}

export interface TrainClassifierInput {
  model: tf.LayersModel;
  shape: ImageShape;
  numClasses: number;
  labeled: Example[];
  validation: Example[];
  options: ResolvedTrainOptions;
  pseudo?: PseudoLabelSettings;
  /** Each step also takes as many auxiliary examples as human-labeled ones, through their own head. */
  auxiliary?: AuxiliaryTask;
  /**
   * Persists the model; `kind` 'best' is the early-stopping pick, 'last' the periodic checkpoint, which
   * carries the loop's state so a job killed later resumes from it.
   */
  saveCheckpoint(kind: 'best' | 'last', step: number, meta: Record<string, unknown>, state?: TrainingState): Promise<Artifact>;
  /** Continue from a 'last' checkpoint's state (the model already holds that checkpoint's weights). */
  resume?: TrainingState;
  onProgress?(progress: Progress, message?: string, checkpoint?: Artifact): void;
  signal?: AbortSignal;
  logger?: Logger;
  backend: string;
  /**
   * Threads to train on. Above 1 on wasm (one thread per instance in Node), each step's batch is split
   * over this many threads (see GradientReplicas); other backends run their own threads and ignore it.
   */
  threads?: number;
}

/**
 * The training loop shared by teacher and student: SGD + momentum, cosine decay with warmup, weight
 * decay, seeded augmentation, periodic checkpoints, early stopping on the validation slice, and, for
 * the student, batches mixing human and pseudo labels under the paper's loss normalization.
 */
/** Everything besides the weights that a resumed loop needs to carry on as if it had not stopped. */
export interface TrainingState {
  step: number;
  lossAvg: number;
  bestTop1: number;
  sinceBest: number;
  imagesSeen: number;
  curve: CurvePoint[];
  best?: Artifact;
  normalizer: { humanAvg: number; pseudoAvg: number; seen: number };
  /** Momentum velocities in trainable-weight order. */
  optimizer: (Float32Array | null)[];
}

export async function trainClassifier(input: TrainClassifierInput): Promise<TrainResult> {
  const { model, shape, numClasses, options: o, pseudo, auxiliary } = input;
  const r = input.resume;
  // A resumed job draws a fresh, still seeded stream: the same step count, not bit-identical batches.
  const rng = createRng(o.seed + (r?.step ?? 0));
  const augment = { level: o.augment, randAugmentN: o.randAugmentN, randAugmentM: o.randAugmentM };
  const optimizer = new SgdMomentum(o.momentum, o.weightDecay);
  const normalizer = new LossNormalizer(pseudo?.alpha ?? 1, 0.99, pseudo?.normalizeLoss ?? true);
  const pseudoCount = pseudo ? Math.round(o.batchSize * pseudo.fraction) : 0;
  const humanCount = o.batchSize - pseudoCount;
  const variables = trainableVariables(model);
  const auxModel = auxiliary ? buildAuxiliaryHead(model, auxiliary.numClasses, o.seed) : undefined;
  // The head's own weights: trained with the rest, but not in the checkpoint nor the resume state (a
  // resumed job starts a fresh head on an encoder that already learned both tasks).
  const headVariables = auxModel ? trainableVariables(auxModel).filter((v) => !variables.includes(v)) : [];
  const trained = variables.concat(headVariables);
  const auxOrder = { order: shuffled(auxiliary?.examples.length ?? 0, rng), cursor: 0 };
  const curve: CurvePoint[] = r ? [...r.curve] : [];
  let order = shuffled(input.labeled.length, rng);
  let cursor = 0;
  let best: Artifact | undefined = r?.best;
  let last: Artifact | undefined;
  let lastSavedStep = -1;
  let bestTop1 = r?.bestTop1 ?? -1;
  let sinceBest = r?.sinceBest ?? 0;
  let lossAvg = r?.lossAvg ?? 0;
  let auxLossAvg = 0;
  let step = r?.step ?? 0;
  const startStep = step;
  const started = Date.now();
  let imagesSeen = 0;
  if (r) {
    normalizer.restore(r.normalizer);
    optimizer.importState(variables, r.optimizer);
    input.logger?.info({ step, bestTop1 }, 'resuming from the last checkpoint');
  }
  const state = (): TrainingState => ({
    step, lossAvg, bestTop1, sinceBest, imagesSeen: (r?.imagesSeen ?? 0) + imagesSeen, curve: [...curve], best,
    normalizer: normalizer.state(), optimizer: optimizer.exportState(variables),
  });

  const nextHuman = (): Example[] => {
    const batch: Example[] = [];
    while (batch.length < humanCount) {
      if (cursor >= order.length) { order = shuffled(input.labeled.length, rng); cursor = 0; }
      batch.push(input.labeled[order[cursor++]]);
    }
    return batch;
  };

  const nextAuxiliary = (): Example[] => {
    const batch: Example[] = [];
    while (auxiliary && batch.length < humanCount) {
      if (auxOrder.cursor >= auxOrder.order.length) Object.assign(auxOrder, { order: shuffled(auxiliary.examples.length, rng), cursor: 0 });
      batch.push(auxiliary.examples[auxOrder.order[auxOrder.cursor++]]);
    }
    return batch;
  };

  const evaluate = async (): Promise<number> => {
    const probs = await predictProbabilities(model, input.validation.map((e) => e.image), shape);
    return top1(input.validation.map((e) => e.label), argmaxRows(probs, numClasses));
  };

  const progress = (extra: Partial<Progress> = {}): Progress => {
    const seconds = (Date.now() - started) / 1000;
    const ips = imagesSeen / Math.max(seconds, 1e-3);
    return {
      step, totalSteps: o.maxSteps, loss: lossAvg, learningRate: cosineLearningRate(step, o.learningRate, o.maxSteps, o.warmupSteps),
      imagesPerSecond: ips, etaSeconds: ((o.maxSteps - step) * o.batchSize) / Math.max(ips, 1e-3),
      valTop1: Math.max(bestTop1, 0), humanLoss: normalizer.humanRunning(), pseudoLoss: normalizer.pseudoRunning(), ...extra,
    };
  };

  // Joint training's auxiliary head lives in this thread only, so it trains on one thread.
  const threads = input.backend === 'wasm' && !auxiliary ? Math.max(1, Math.floor(input.threads ?? 1)) : 1;
  let replicas: GradientReplicas | undefined;
  // The workers' augmentation seeds come from their own stream, so batches and their order do not depend on the thread count.
  let shardSeeds = rng;
  try {
    if (threads > 1) {
      shardSeeds = createRng(o.seed + 104729 + (r?.step ?? 0));
      replicas = await GradientReplicas.start(threads - 1, model, { backend: input.backend, shape, numClasses, augment });
      input.logger?.info({ threads }, 'data-parallel training: each batch split over worker threads');
    }
    for (; step < o.maxSteps; ) {
      if (input.signal?.aborted) {
        last = await input.saveCheckpoint('last', step, { step, interrupted: true }, state());
        throw input.signal.reason instanceof Error ? input.signal.reason : new CancelledError('cancelled');
      }
      const human = nextHuman();
      const pseudoBatch = pseudo ? await pseudo.sampler.sample(pseudoCount) : [];
      const auxBatch = nextAuxiliary();
      const lr = cosineLearningRate(step, o.learningRate, o.maxSteps, o.warmupSteps);
      const weights = normalizer.weights();
      const scale: BatchLossScale = {
        humanTotal: human.length, pseudoTotal: pseudoBatch.length, labelSmoothing: o.labelSmoothing,
        humanWeight: pseudoCount > 0 ? weights.human : 1, pseudoWeight: pseudoCount > 0 ? weights.pseudo : 0,
      };
      const shards = splitBatch(human, pseudoBatch, (replicas?.size ?? 0) + 1);
      // The workers start on their shards (the same weights) while this thread does the first.
      const remote = replicas?.compute(variables.map((v) => v.dataSync() as Float32Array), shards.slice(1).map((s) => ({ ...s, scale, seed: shardSeeds.int(2 ** 31 - 1) })));
      remote?.catch(() => undefined);
      const local = tf.tidy(() => {
        const x = imagesToTensor(shards[0].examples, shape, augment, rng);
        const y = targetsToTensor(shards[0].examples, numClasses);
        const auxiliaryLoss = auxModel && auxiliary ? () => {
          const auxLogits = auxModel.apply(imagesToTensor(auxBatch, shape, augment, rng), { training: true }) as tf.Tensor2D;
          return tf.mul(tf.losses.softmaxCrossEntropy(targetsToTensor(auxBatch, auxiliary.numClasses), auxLogits), auxiliary.weight) as tf.Scalar;
        } : undefined;
        return shardGradients(model, trained, x, y, shards[0].humanCount, scale, auxiliaryLoss);
      });
      const others = remote ? await remote : [];
      tf.tidy(() => {
        const grads: tf.NamedTensorMap = {};
        trained.forEach((v, i) => { grads[v.name] = others.reduce((sum, r) => tf.add(sum, tf.tensor(r.grads[i], v.shape)), local.grads[i]); });
        optimizer.apply(trained, grads, lr);
      });
      tf.dispose(local.grads);
      const sum = (f: (r: { loss: number; humanSum: number; pseudoSum: number }) => number) => others.reduce((a, r) => a + f(r), f(local));
      const lossValue = sum((r) => r.loss);
      const humanLoss = sum((r) => r.humanSum) / human.length;
      const pseudoLoss = pseudoBatch.length ? sum((r) => r.pseudoSum) / pseudoBatch.length : NaN;
      const auxLossValue = auxiliary ? local.extra / auxiliary.weight : NaN;
      if (!Number.isFinite(lossValue)) throw new Error(`loss is ${lossValue} at step ${step}; lower options.learning_rate`);
      if (pseudo) normalizer.update(humanLoss, pseudoLoss);
      lossAvg = step === startStep && !r ? lossValue : 0.95 * lossAvg + 0.05 * lossValue;
      if (auxiliary) auxLossAvg = step === startStep ? auxLossValue : 0.95 * auxLossAvg + 0.05 * auxLossValue;
      step += 1;
      imagesSeen += human.length + pseudoBatch.length;

      const evalNow = step % o.evalEvery === 0 || step === o.maxSteps;
      let message = '';
      let checkpoint: Artifact | undefined;
      if (evalNow) {
        const valTop1 = await evaluate();
        curve.push({ step, loss: lossAvg, valTop1, learningRate: lr });
        if (valTop1 > bestTop1) {
          bestTop1 = valTop1;
          sinceBest = 0;
          best = await input.saveCheckpoint('best', step, { step, valTop1 });
          checkpoint = best;
        } else sinceBest += 1;
        message = `step ${step}: val top-1 ${valTop1.toFixed(4)} (best ${bestTop1.toFixed(4)})`;
        input.logger?.info({ step, loss: lossAvg, valTop1, lr, ...(auxiliary ? { auxiliaryLoss: auxLossAvg } : {}) }, 'evaluated');
      }
      if (step % o.checkpointEvery === 0) {
        last = await input.saveCheckpoint('last', step, { step }, state());
        lastSavedStep = step;
        checkpoint ??= last;
      }
      if (evalNow || step % 10 === 0) input.onProgress?.(progress(), message, checkpoint);
      if (o.patience > 0 && sinceBest >= o.patience) {
        input.logger?.info({ step, bestTop1 }, 'early stop: validation top-1 stopped improving');
        break;
      }
      // Let gRPC calls (Watch, Get, health) through between steps.
      await new Promise((r) => setImmediate(r));
    }
    // The final weights are always the 'last' checkpoint, whether or not the interval divides the step count.
    if (lastSavedStep !== step) last = await input.saveCheckpoint('last', step, { step }, state());
  } finally {
    await replicas?.dispose();
    optimizer.dispose();
    for (const v of headVariables) v.dispose();
  }
  const seconds = (Date.now() - started) / 1000;
  return {
    bestCheckpoint: best ?? last, lastCheckpoint: last, bestValTop1: Math.max(bestTop1, 0), steps: step, curve, resumedFromStep: startStep,
    backend: input.backend, imagesPerSecond: imagesSeen / Math.max(seconds, 1e-3),
  };
}

function shuffled(n: number, rng: { int(n: number): number }): Int32Array {
  const a = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
