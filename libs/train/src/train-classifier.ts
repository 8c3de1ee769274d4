import { createRng } from '@selftrain/random';
import { tf } from '@selftrain/compute';
import { argmaxRows, top1 } from '@selftrain/metrics';
import type { TrainResult } from '@selftrain/proto';
import { buildAuxiliaryHead } from './auxiliary-head';
import { imagesToTensor, targetsToTensor, type AugmentSettings, type Example, type ImageShape } from './batch';
import { shardGradients, type BatchLossScale } from './classifier-gradients';
import { GradientReplicas, splitBatch } from './gradient-replicas';
import { predictProbabilities } from './predict';
import { shuffled } from './shuffled';
import { trainableVariables } from './trainable-variables';
import { runTraining, type TrainingLoopInput, type TrainingTask } from './training-loop';

/** Joint training: labeled examples of another classification task, trained on the same encoder. */
export interface AuxiliaryTask {
  examples: Example[];
  numClasses: number;
  /** The auxiliary loss's weight against the task's. */
  weight: number;
}

export interface TrainClassifierInput extends TrainingLoopInput<Example> {
  model: tf.LayersModel;
  shape: ImageShape;
  numClasses: number;
  validation: Example[];
  /** Each step also takes as many auxiliary examples as human-labeled ones, through their own head. */
  auxiliary?: AuxiliaryTask;
  /**
   * Threads to train on. Above 1 on wasm (one thread per instance in Node), each step's batch is split
   * over this many threads (see GradientReplicas); other backends run their own threads and ignore it.
   */
  threads?: number;
}

/**
 * The classifier of teacher and student in the one training loop (runTraining): softmax cross-entropy
 * with label smoothing, hard or soft targets, the human and pseudo halves weighted by the loss
 * normalizer, the batch split over worker threads on wasm (GradientReplicas), and joint training's
 * auxiliary head; validation top-1 picks 'best'.
 */
export async function trainClassifier(input: TrainClassifierInput): Promise<TrainResult> {
  const { model, shape, numClasses, options: o, auxiliary } = input;
  const variables = trainableVariables(model);
  const auxModel = auxiliary ? buildAuxiliaryHead(model, auxiliary.numClasses, o.seed) : undefined;
  // The head's own weights: trained with the rest, but not in the checkpoint nor the resume state (a
  // resumed job starts a fresh head on an encoder that already learned both tasks).
  const headVariables = auxModel ? trainableVariables(auxModel).filter((v) => !variables.includes(v)) : [];
  const trained = variables.concat(headVariables);
  // Joint training's auxiliary head lives in this thread only, so it trains on one thread.
  const threads = input.backend === 'wasm' && !auxiliary ? Math.max(1, Math.floor(input.threads ?? 1)) : 1;
  let replicas: GradientReplicas | undefined;
  try {
    return await runTraining(input, async (rng): Promise<TrainingTask<Example>> => {
      const auxOrder = { order: shuffled(auxiliary?.examples.length ?? 0, rng), cursor: 0 };
      const nextAuxiliary = (count: number): Example[] => {
        const batch: Example[] = [];
        while (auxiliary && batch.length < count) {
          if (auxOrder.cursor >= auxOrder.order.length) Object.assign(auxOrder, { order: shuffled(auxiliary.examples.length, rng), cursor: 0 });
          batch.push(auxiliary.examples[auxOrder.order[auxOrder.cursor++]]);
        }
        return batch;
      };
      // The workers' augmentation seeds come from their own stream, so batches and their order do not depend on the thread count.
      let shardSeeds = rng;
      if (threads > 1) {
        shardSeeds = createRng(o.seed + 104729 + (input.resume?.step ?? 0));
        replicas = await GradientReplicas.start(threads - 1, model, { backend: input.backend, shape, numClasses, augment: augmentOf(o) });
        input.logger?.info({ threads }, 'data-parallel training: each batch split over worker threads');
      }
      let auxLossAvg: number | undefined;
      return {
        metricName: 'top-1',
        variables,
        step: async (human, pseudoBatch, ctx) => {
          const auxBatch = nextAuxiliary(human.length);
          const scale: BatchLossScale = {
            humanTotal: human.length, pseudoTotal: pseudoBatch.length, labelSmoothing: o.labelSmoothing,
            humanWeight: pseudoBatch.length > 0 ? ctx.weights.human : 1, pseudoWeight: pseudoBatch.length > 0 ? ctx.weights.pseudo : 0,
          };
          const shards = splitBatch(human, pseudoBatch, (replicas?.size ?? 0) + 1);
          // The workers start on their shards (the same weights) while this thread does the first.
          const remote = replicas?.compute(variables.map((v) => v.dataSync() as Float32Array), shards.slice(1).map((s) => ({ ...s, scale, seed: shardSeeds.int(2 ** 31 - 1) })));
          remote?.catch(() => undefined);
          const local = tf.tidy(() => {
            const x = imagesToTensor(shards[0].examples, shape, ctx.augment, ctx.rng);
            const y = targetsToTensor(shards[0].examples, numClasses);
            const auxiliaryLoss = auxModel && auxiliary ? () => {
              const auxLogits = auxModel.apply(imagesToTensor(auxBatch, shape, ctx.augment, ctx.rng), { training: true }) as tf.Tensor2D;
              return tf.mul(tf.losses.softmaxCrossEntropy(targetsToTensor(auxBatch, auxiliary.numClasses), auxLogits), auxiliary.weight) as tf.Scalar;
            } : undefined;
            return shardGradients(model, trained, x, y, shards[0].humanCount, scale, auxiliaryLoss);
          });
          const others = remote ? await remote : [];
          tf.tidy(() => {
            const grads: tf.NamedTensorMap = {};
            trained.forEach((v, i) => { grads[v.name] = others.reduce((sum, r) => tf.add(sum, tf.tensor(r.grads[i], v.shape)), local.grads[i]); });
            ctx.optimizer.apply(trained, grads, ctx.learningRate);
          });
          tf.dispose(local.grads);
          const sum = (f: (r: { loss: number; humanSum: number; pseudoSum: number }) => number) => others.reduce((a, r) => a + f(r), f(local));
          if (auxiliary) {
            const auxLoss = local.extra / auxiliary.weight;
            auxLossAvg = auxLossAvg === undefined ? auxLoss : 0.95 * auxLossAvg + 0.05 * auxLoss;
          }
          return {
            loss: sum((r) => r.loss), human: sum((r) => r.humanSum) / human.length,
            pseudo: pseudoBatch.length ? sum((r) => r.pseudoSum) / pseudoBatch.length : NaN,
          };
        },
        evaluate: async () => {
          const probs = await predictProbabilities(model, input.validation.map((e) => e.image), shape);
          const metric = top1(input.validation.map((e) => e.label), argmaxRows(probs, numClasses));
          return { metric, log: auxiliary ? { auxiliaryLoss: auxLossAvg } : {} };
        },
      };
    });
  } finally {
    await replicas?.dispose();
    for (const v of headVariables) v.dispose();
  }
}

function augmentOf(o: TrainClassifierInput['options']): AugmentSettings {
  return { level: o.augment, randAugmentN: o.randAugmentN, randAugmentM: o.randAugmentM };
}
