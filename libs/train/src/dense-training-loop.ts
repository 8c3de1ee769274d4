import { createRng, type Rng } from '@selftrain/random';
import { tf } from '@selftrain/compute';
import { CancelledError, InputError } from '@selftrain/errors';
import type { Logger } from '@selftrain/logger';
import type { Artifact, CurvePoint, Progress, TrainResult } from '@selftrain/proto';
import type { AugmentSettings, ImageShape } from './batch';
import type { DenseExample } from './dense-batch';
import { cosineLearningRate } from './learning-rate';
import { LossNormalizer } from './loss-normalizer';
import { SgdMomentum } from './sgd-momentum';
import type { PseudoLabelSettings, TrainingState } from './train-classifier';
import type { ResolvedTrainOptions } from './train-options';
import { trainableVariables } from './trainable-variables';

/** Where pseudo-labeled dense examples come from (a ShuffleBuffer<DenseExample> over the pseudo-label shards). */
export interface DenseExampleSampler {
  sample(n: number): Promise<DenseExample[]>;
}

/** PseudoLabelSettings of the classifier, over dense examples. */
export interface DensePseudoLabelSettings extends Omit<PseudoLabelSettings, 'sampler'> {
  sampler: DenseExampleSampler;
}

/** What trainDetector and trainSegmenter share with TrainClassifierInput. */
export interface DenseTrainingInput {
  model: tf.LayersModel;
  shape: ImageShape;
  labeled: DenseExample[];
  validation: DenseExample[];
  options: ResolvedTrainOptions;
  pseudo?: DensePseudoLabelSettings;
  /**
   * Persists the model; `kind` 'best' is the early-stopping pick (the task's validation metric), 'last'
   * the periodic checkpoint, which carries the loop's state so a job killed later resumes from it.
   */
  saveCheckpoint(kind: 'best' | 'last', step: number, meta: Record<string, unknown>, state?: TrainingState): Promise<Artifact>;
  /** Continue from a 'last' checkpoint's state (the model already holds that checkpoint's weights). */
  resume?: TrainingState;
  onProgress?(progress: Progress, message?: string, checkpoint?: Artifact): void;
  signal?: AbortSignal;
  logger?: Logger;
  backend: string;
}

export interface DenseStepContext {
  variables: tf.Variable[];
  optimizer: SgdMomentum;
  learningRate: number;
  /** The loss normalizer's weights for L_h and L_p this step. */
  weights: { human: number; pseudo: number };
  augment: AugmentSettings;
  rng: Rng;
}

/** One task's part of the loop: the train step and the validation metric. */
export interface DenseTask {
  /** Named in logs and progress messages, e.g. 'COCO AP'. */
  metricName: string;
  /**
   * One SGD step on the human examples followed by the pseudo ones (possibly none); returns the total
   * loss, L_h and L_p (NaN without pseudo examples), all before the update.
   */
  step(human: DenseExample[], pseudo: DenseExample[], ctx: DenseStepContext): [number, number, number];
  /** The validation metric (higher is better) and extra figures for the log. */
  evaluate(): Promise<{ metric: number; details: Record<string, number> }>;
}

/**
 * The loop trainDetector and trainSegmenter run: the same plumbing as trainClassifier (SGD + momentum,
 * cosine decay with warmup, seeded augmentation, 'best' on the validation metric, periodic 'last'
 * checkpoints with TrainingState, early stopping, cancellation, progress every 10 steps and at each
 * evaluation), with the batch and the metric supplied by the task. Duplicated from trainClassifier (~60
 * lines) rather than extracted from it, so that loop's behaviour and file stay untouched.
 * TrainingState.bestTop1, Progress.valTop1, CurvePoint.valTop1 and TrainResult.bestValTop1 hold the
 * task's metric.
 */
export async function runDenseTraining(input: DenseTrainingInput, task: DenseTask): Promise<TrainResult> {
  const { model, options: o, pseudo } = input;
  if (input.labeled.length === 0) throw new InputError('labeled', 'needs at least one labeled example');
  if (input.validation.length === 0) throw new InputError('validation', 'needs at least one validation example');
  if (pseudo && !(pseudo.fraction >= 0 && pseudo.fraction < 1)) throw new InputError('pseudo.fraction', `must be in [0, 1), got ${pseudo.fraction}`);
  const r = input.resume;
  // A resumed job draws a fresh, still seeded stream: the same step count, not bit-identical batches.
  const rng = createRng(o.seed + (r?.step ?? 0));
  const augment: AugmentSettings = { level: o.augment, randAugmentN: o.randAugmentN, randAugmentM: o.randAugmentM };
  const optimizer = new SgdMomentum(o.momentum, o.weightDecay);
  const normalizer = new LossNormalizer(pseudo?.alpha ?? 1, 0.99, pseudo?.normalizeLoss ?? true);
  const pseudoCount = pseudo ? Math.round(o.batchSize * pseudo.fraction) : 0;
  const humanCount = o.batchSize - pseudoCount;
  if (humanCount < 1) throw new InputError('pseudo.fraction', `${pseudo?.fraction} leaves no human-labeled example in a batch of ${o.batchSize}`);
  const variables = trainableVariables(model);
  const curve: CurvePoint[] = r ? [...r.curve] : [];
  let order = shuffled(input.labeled.length, rng);
  let cursor = 0;
  let best: Artifact | undefined = r?.best;
  let last: Artifact | undefined;
  let lastStep = -1;
  let bestMetric = r?.bestTop1 ?? -1;
  let sinceBest = r?.sinceBest ?? 0;
  let lossAvg = r?.lossAvg ?? 0;
  let step = r?.step ?? 0;
  const startStep = step;
  const started = Date.now();
  let imagesSeen = 0;
  if (r) {
    normalizer.restore(r.normalizer);
    optimizer.importState(variables, r.optimizer);
    input.logger?.info({ step, best: bestMetric }, 'resuming from the last checkpoint');
  }
  const state = (): TrainingState => ({
    step, lossAvg, bestTop1: bestMetric, sinceBest, imagesSeen: (r?.imagesSeen ?? 0) + imagesSeen, curve: [...curve], best,
    normalizer: normalizer.state(), optimizer: optimizer.exportState(variables),
  });

  const nextHuman = (): DenseExample[] => {
    const batch: DenseExample[] = [];
    while (batch.length < humanCount) {
      if (cursor >= order.length) { order = shuffled(input.labeled.length, rng); cursor = 0; }
      batch.push(input.labeled[order[cursor++]]);
    }
    return batch;
  };

  const progress = (): Progress => {
    const seconds = (Date.now() - started) / 1000;
    const ips = imagesSeen / Math.max(seconds, 1e-3);
    return {
      step, totalSteps: o.maxSteps, loss: lossAvg, learningRate: cosineLearningRate(step, o.learningRate, o.maxSteps, o.warmupSteps),
      imagesPerSecond: ips, etaSeconds: ((o.maxSteps - step) * o.batchSize) / Math.max(ips, 1e-3),
      valTop1: Math.max(bestMetric, 0), humanLoss: normalizer.humanRunning(), pseudoLoss: normalizer.pseudoRunning(),
    };
  };

  try {
    for (; step < o.maxSteps; ) {
      if (input.signal?.aborted) {
        last = await input.saveCheckpoint('last', step, { step, interrupted: true }, state());
        throw input.signal.reason instanceof Error ? input.signal.reason : new CancelledError('cancelled');
      }
      const human = nextHuman();
      const pseudoBatch = pseudo && pseudoCount > 0 ? await pseudo.sampler.sample(pseudoCount) : [];
      const lr = cosineLearningRate(step, o.learningRate, o.maxSteps, o.warmupSteps);
      const [lossValue, humanLoss, pseudoLoss] = task.step(human, pseudoBatch, {
        variables, optimizer, learningRate: lr, weights: normalizer.weights(), augment, rng,
      });
      if (!Number.isFinite(lossValue)) throw new Error(`loss is ${lossValue} at step ${step}; lower options.learning_rate`);
      if (pseudoBatch.length > 0) normalizer.update(humanLoss, pseudoLoss);
      lossAvg = step === startStep && !r ? lossValue : 0.95 * lossAvg + 0.05 * lossValue;
      step += 1;
      imagesSeen += human.length + pseudoBatch.length;

      const evalNow = step % o.evalEvery === 0 || step === o.maxSteps;
      let message = '';
      let checkpoint: Artifact | undefined;
      if (evalNow) {
        const { metric, details } = await task.evaluate();
        curve.push({ step, loss: lossAvg, valTop1: metric, learningRate: lr });
        if (metric > bestMetric) {
          bestMetric = metric;
          sinceBest = 0;
          best = await input.saveCheckpoint('best', step, { step, valTop1: metric, ...details });
          checkpoint = best;
        } else sinceBest += 1;
        message = `step ${step}: val ${task.metricName} ${metric.toFixed(4)} (best ${bestMetric.toFixed(4)})`;
        input.logger?.info({ step, loss: lossAvg, metric, ...details, lr }, 'evaluated');
      }
      if (step % o.checkpointEvery === 0) {
        last = await input.saveCheckpoint('last', step, { step }, state());
        lastStep = step;
        checkpoint ??= last;
      }
      if (evalNow || step % 10 === 0) input.onProgress?.(progress(), message, checkpoint);
      if (o.patience > 0 && sinceBest >= o.patience) {
        input.logger?.info({ step, best: bestMetric }, `early stop: validation ${task.metricName} stopped improving`);
        break;
      }
      // Let gRPC calls (Watch, Get, health) through between steps.
      await new Promise((done) => setImmediate(done));
    }
    // The final weights are always a 'last' checkpoint (the classifier's loop can skip it when an
    // evaluation fell on the final step; this one does not).
    if (lastStep !== step) last = await input.saveCheckpoint('last', step, { step }, state());
  } finally {
    optimizer.dispose();
  }
  const seconds = (Date.now() - started) / 1000;
  return {
    bestCheckpoint: best ?? last, lastCheckpoint: last, bestValTop1: Math.max(bestMetric, 0), steps: step, curve, resumedFromStep: startStep,
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

/**
 * One SGD step on L = w_h·L_h + w_p·L_p, the LossNormalizer's weights applied to the two halves'
 * losses that `halves` computes inside the gradient tape (no pseudo half: L = L_h). The partial losses
 * are kept past variableGrads' own scope so the normalizer can read them. Returns [L, L_h, L_p].
 */
export function weightedHalvesStep(ctx: DenseStepContext, halves: () => { human: tf.Scalar; pseudo?: tf.Scalar }): [number, number, number] {
  let lh: tf.Scalar | undefined;
  let lp: tf.Scalar | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const l = halves();
    lh = tf.keep(l.human);
    if (!l.pseudo) return tf.mul(lh, 1) as tf.Scalar;
    lp = tf.keep(l.pseudo);
    return tf.add(tf.mul(lh, ctx.weights.human), tf.mul(lp, ctx.weights.pseudo)) as tf.Scalar;
  }, ctx.variables);
  ctx.optimizer.apply(ctx.variables, grads, ctx.learningRate);
  const values: [number, number, number] = [value.dataSync()[0], lh?.dataSync()[0] ?? NaN, lp?.dataSync()[0] ?? NaN];
  lh?.dispose();
  lp?.dispose();
  return values;
}
