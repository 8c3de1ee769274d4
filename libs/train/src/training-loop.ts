import { createRng, type Rng } from '@selftrain/random';
import type { tf } from '@selftrain/compute';
import { CancelledError, InputError } from '@selftrain/errors';
import type { Logger } from '@selftrain/logger';
import type { Artifact, CurvePoint, Progress, TrainResult } from '@selftrain/proto';
import type { AugmentSettings, Example } from './batch';
import { cosineLearningRate } from './learning-rate';
import { LossNormalizer } from './loss-normalizer';
import { SgdMomentum } from './sgd-momentum';
import { shuffled } from './shuffled';
import type { ResolvedTrainOptions } from './train-options';

/** Where pseudo-labeled examples come from: a sampler over a stream (see ShuffleBuffer). */
export interface ExampleSampler<E = Example> {
  sample(n: number): Promise<E[]>;
}

export interface PseudoLabelSettings<E = Example> {
  sampler: ExampleSampler<E>;
  /** Fraction of each batch that is pseudo-labeled (the paper: 0.5). */
  fraction: number;
  alpha: number;
  normalizeLoss: boolean;
}

/** Everything besides the weights that a resumed loop needs to carry on as if it had not stopped. */
export interface TrainingState {
  step: number;
  lossAvg: number;
  /** The best validation metric so far (top-1, COCO AP, mIoU or contrastive top-1: the task's). */
  bestTop1: number;
  sinceBest: number;
  imagesSeen: number;
  curve: CurvePoint[];
  best?: Artifact;
  normalizer: { humanAvg: number; pseudoAvg: number; seen: number };
  /** Momentum velocities in trainable-weight order (a task may append more: see TrainingTask.exportState). */
  optimizer: (Float32Array | null)[];
}

/** What every training job hands the loop, whatever its task. */
export interface TrainingLoopInput<E> {
  /** The examples each batch's human-labeled part cycles through, reshuffled every epoch. */
  labeled: E[];
  options: ResolvedTrainOptions;
  /** Student mode: each batch ends with `fraction` pseudo-labeled examples, under loss normalization. */
  pseudo?: PseudoLabelSettings<E>;
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

/** What a step gets from the loop. */
export interface StepContext {
  optimizer: SgdMomentum;
  learningRate: number;
  /** The loss normalizer's weights for L_h and L_p this step. */
  weights: { human: number; pseudo: number };
  augment: AugmentSettings;
  /** The loop's seeded stream (the same one that shuffles the labeled examples). */
  rng: Rng;
}

/**
 * A step's losses, all before its update: the total, L_h and L_p (NaN without pseudo examples). A type,
 * not an interface, so tf.tidy returns it as a TensorContainer.
 */
export type StepLosses = {
  loss: number;
  human: number;
  pseudo: number;
};

export interface TaskEvaluation {
  /** The validation metric, higher is better: 'best' follows it and early stopping watches it. */
  metric: number;
  /** Saved with a 'best' checkpoint and logged. */
  details?: Record<string, unknown>;
  /** Logged only. */
  log?: Record<string, unknown>;
  /** Appended to the progress message. */
  note?: string;
}

/** One task's part of the loop: its SGD step and its validation metric. */
export interface TrainingTask<E> {
  /** Named in logs and progress messages, e.g. 'top-1', 'COCO AP'. */
  metricName: string;
  /** The variables whose momentum the resume state carries, in this order. */
  variables: tf.Variable[];
  /**
   * One SGD step (the optimizer's update included) on the human examples followed by the pseudo ones
   * (possibly none).
   */
  step(human: E[], pseudo: E[], ctx: StepContext): StepLosses | Promise<StepLosses>;
  evaluate(): Promise<TaskEvaluation>;
  /** Images the network sees per example (SimCLR: two views); counts img/s and the ETA. Default 1. */
  viewsPerExample?: number;
  /** Put on every checkpoint (SimCLR: its objective). */
  checkpointMeta?: Record<string, unknown>;
  /** The state's `optimizer`, when it holds more than the variables' velocities (SimCLR: its head's weights). */
  exportState?(optimizer: SgdMomentum): (Float32Array | null)[];
  importState?(optimizer: SgdMomentum, saved: (Float32Array | null)[]): void;
}

/**
 * The one training loop of every task and objective: batches of human examples (reshuffled each epoch)
 * plus, for a student, pseudo-labeled ones from the sampler; SGD + momentum under cosine decay with
 * warmup; the paper's loss normalization; seeded augmentation; evaluation every options.eval_every steps
 * and at the end, 'best' on the task's metric, early stopping after options.patience evaluations without
 * a gain; periodic 'last' checkpoints with the state a resumed job continues from; cancellation (a
 * 'last' checkpoint marked interrupted, then the signal's reason); progress every 10 steps and at each
 * evaluation. The final weights are always a 'last' checkpoint: saved after the loop unless the
 * periodic one fell on the final step.
 *
 * `task` is built once the loop's seeded stream exists and before it draws from it, so a task that
 * draws at setup (joint training's auxiliary order) keeps its place in the stream.
 * TrainingState.bestTop1, Progress.valTop1, CurvePoint.valTop1 and TrainResult.bestValTop1 hold the
 * task's metric.
 */
export async function runTraining<E>(input: TrainingLoopInput<E>, task: (rng: Rng) => TrainingTask<E> | Promise<TrainingTask<E>>): Promise<TrainResult> {
  const { options: o, pseudo } = input;
  if (input.labeled.length === 0) throw new InputError('labeled', 'needs at least one labeled example');
  if (pseudo && !(pseudo.fraction >= 0 && pseudo.fraction < 1)) throw new InputError('pseudo.fraction', `must be in [0, 1), got ${pseudo.fraction}`);
  const pseudoCount = pseudo ? Math.round(o.batchSize * pseudo.fraction) : 0;
  const humanCount = o.batchSize - pseudoCount;
  if (humanCount < 1) throw new InputError('pseudo.fraction', `${pseudo?.fraction} leaves no human-labeled example in a batch of ${o.batchSize}`);
  const r = input.resume;
  // A resumed job draws a fresh, still seeded stream: the same step count, not bit-identical batches.
  const rng = createRng(o.seed + (r?.step ?? 0));
  const augment: AugmentSettings = { level: o.augment, randAugmentN: o.randAugmentN, randAugmentM: o.randAugmentM };
  const optimizer = new SgdMomentum(o.momentum, o.weightDecay);
  const normalizer = new LossNormalizer(pseudo?.alpha ?? 1, 0.99, pseudo?.normalizeLoss ?? true);
  const curve: CurvePoint[] = r ? [...r.curve] : [];
  let best: Artifact | undefined = r?.best;
  let last: Artifact | undefined;
  let lastSavedStep = -1;
  let bestMetric = r?.bestTop1 ?? -1;
  let sinceBest = r?.sinceBest ?? 0;
  let lossAvg = r?.lossAvg ?? 0;
  let step = r?.step ?? 0;
  const startStep = step;
  const started = Date.now();
  let imagesSeen = 0;
  try {
    const t = await task(rng);
    const views = t.viewsPerExample ?? 1;
    const tags = t.checkpointMeta ?? {};
    let order = shuffled(input.labeled.length, rng);
    let cursor = 0;
    if (r) {
      normalizer.restore(r.normalizer);
      if (t.importState) t.importState(optimizer, r.optimizer);
      else optimizer.importState(t.variables, r.optimizer);
      input.logger?.info({ step, best: bestMetric }, 'resuming from the last checkpoint');
    }
    const state = (): TrainingState => ({
      step, lossAvg, bestTop1: bestMetric, sinceBest, imagesSeen: (r?.imagesSeen ?? 0) + imagesSeen, curve: [...curve], best,
      normalizer: normalizer.state(), optimizer: t.exportState ? t.exportState(optimizer) : optimizer.exportState(t.variables),
    });
    const saveLast = async (meta: Record<string, unknown> = {}): Promise<Artifact> => {
      last = await input.saveCheckpoint('last', step, { step, ...meta, ...tags }, state());
      return last;
    };

    const nextHuman = (): E[] => {
      const batch: E[] = [];
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
        imagesPerSecond: ips, etaSeconds: ((o.maxSteps - step) * views * o.batchSize) / Math.max(ips, 1e-3),
        valTop1: Math.max(bestMetric, 0), humanLoss: normalizer.humanRunning(), pseudoLoss: normalizer.pseudoRunning(),
      };
    };

    for (; step < o.maxSteps; ) {
      if (input.signal?.aborted) {
        await saveLast({ interrupted: true });
        throw input.signal.reason instanceof Error ? input.signal.reason : new CancelledError('cancelled');
      }
      const human = nextHuman();
      const pseudoBatch = pseudo && pseudoCount > 0 ? await pseudo.sampler.sample(pseudoCount) : [];
      const lr = cosineLearningRate(step, o.learningRate, o.maxSteps, o.warmupSteps);
      const losses = await t.step(human, pseudoBatch, { optimizer, learningRate: lr, weights: normalizer.weights(), augment, rng });
      if (!Number.isFinite(losses.loss)) throw new Error(`loss is ${losses.loss} at step ${step}; lower options.learning_rate`);
      if (pseudoBatch.length > 0) normalizer.update(losses.human, losses.pseudo);
      lossAvg = step === startStep && !r ? losses.loss : 0.95 * lossAvg + 0.05 * losses.loss;
      step += 1;
      imagesSeen += views * (human.length + pseudoBatch.length);

      const evalNow = step % o.evalEvery === 0 || step === o.maxSteps;
      let message = '';
      let checkpoint: Artifact | undefined;
      if (evalNow) {
        const { metric, details = {}, log = {}, note } = await t.evaluate();
        curve.push({ step, loss: lossAvg, valTop1: metric, learningRate: lr });
        if (metric > bestMetric) {
          bestMetric = metric;
          sinceBest = 0;
          best = await input.saveCheckpoint('best', step, { step, valTop1: metric, ...details, ...tags });
          checkpoint = best;
        } else sinceBest += 1;
        message = `step ${step}: val ${t.metricName} ${metric.toFixed(4)} (best ${bestMetric.toFixed(4)})${note ? `, ${note}` : ''}`;
        input.logger?.info({ step, loss: lossAvg, valTop1: metric, ...details, ...log, lr }, 'evaluated');
      }
      if (step % o.checkpointEvery === 0) {
        const saved = await saveLast();
        lastSavedStep = step;
        checkpoint ??= saved;
      }
      if (evalNow || step % 10 === 0) input.onProgress?.(progress(), message, checkpoint);
      if (o.patience > 0 && sinceBest >= o.patience) {
        input.logger?.info({ step, best: bestMetric }, `early stop: validation ${t.metricName} stopped improving`);
        break;
      }
      // Let gRPC calls (Watch, Get, health) through between steps.
      await new Promise((done) => setImmediate(done));
    }
    if (lastSavedStep !== step) await saveLast();
  } finally {
    optimizer.dispose();
  }
  const seconds = (Date.now() - started) / 1000;
  return {
    bestCheckpoint: best ?? last, lastCheckpoint: last, bestValTop1: Math.max(bestMetric, 0), steps: step, curve, resumedFromStep: startStep,
    backend: input.backend, imagesPerSecond: imagesSeen / Math.max(seconds, 1e-3),
  };
}

