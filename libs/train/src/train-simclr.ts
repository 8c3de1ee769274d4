import { createRng, type Rng } from '@selftrain/random';
import { tf } from '@selftrain/compute';
import { InputError } from '@selftrain/errors';
import type { Artifact, TrainResult } from '@selftrain/proto';
import { imagesToTensor, type AugmentSettings, type ImageShape } from './batch';
import { ntXent, NT_XENT_DEFAULT_TEMPERATURE } from './nt-xent';
import type { SgdMomentum } from './sgd-momentum';
import { buildProjectionHead, DEFAULT_PROJECTION, simclrEncoder, type ProjectionDims } from './train-simclr-model';
import { TEACHER_DEFAULTS, type ResolvedTrainOptions } from './train-options';
import { trainableVariables } from './trainable-variables';
import { runTraining, type TrainingLoopInput, type TrainingState } from './training-loop';

/**
 * Defaults for pretraining (pass to resolveTrainOptions): the strongest augmentation (s4: RandAugment,
 * flip, scale jitter 0.5-2.0, which is SimCLR's crop-and-resize), no dropout (the views are the noise; the
 * encoder's output passes the model's dropout layer), light weight decay, no early stopping.
 */
export const SIMCLR_DEFAULTS: ResolvedTrainOptions = {
  ...TEACHER_DEFAULTS, batchSize: 64, maxSteps: 2000, learningRate: 0.1, momentum: 0.9, weightDecay: 1e-4,
  warmupSteps: 100, checkpointEvery: 500, evalEvery: 200, patience: 0, augment: 's4', dropout: 0,
};

export interface TrainSimclrInput extends Omit<TrainingLoopInput<{ image: Uint8Array }>, 'labeled' | 'pseudo'> {
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
   * Persists `model`, the whole classifier (its 'logits' layer at its random init; an init of another
   * label space skips it for its shape, libs/checkpoints' matchInitLayers); 'best' is the highest validation contrastive top-1, 'last' the periodic checkpoint with
   * the loop's state. The projection head is not part of the model and is never in the weights.
   */
  saveCheckpoint(kind: 'best' | 'last', step: number, meta: Record<string, unknown>, state?: TrainingState): Promise<Artifact>;
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
  const augment: AugmentSettings = { level: o.augment, randAugmentN: o.randAugmentN, randAugmentM: o.randAugmentM };
  const encoder = simclrEncoder(model);
  const featureDim = encoder.outputs[0].shape.at(-1) as number;
  const head = buildProjectionHead(featureDim, input.projection ?? DEFAULT_PROJECTION, o.seed + 7);
  const encoderVars = trainableVariables(encoder);
  const headVars = trainableVariables(head);
  const variables = [...encoderVars, ...headVars];

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

  try {
    return await runTraining({ ...input, labeled: input.images }, () => ({
      metricName: 'contrastive top-1',
      variables,
      viewsPerExample: 2,
      checkpointMeta: { objective: 'simclr' },
      // The state's optimizer: the velocities, then the head's weights (the head is in no checkpoint).
      exportState: (optimizer) => [...optimizer.exportState(variables), ...headVars.map((v) => Float32Array.from(v.dataSync() as Float32Array))],
      importState: (optimizer, saved) => restoreState(optimizer, encoderVars, headVars, saved),
      step: (batch, _pseudo, ctx) => {
        // Two forks per step: the views of one image are independent draws, and neither stream depends on
        // how many random numbers the other view's augmentations happened to take.
        const [viewA, viewB] = [ctx.rng.fork(), ctx.rng.fork()];
        const loss = tf.tidy(() => {
          const x = twoViews(batch, shape, ctx.augment, viewA, viewB);
          // One forward pass over all 2N views: batch norm sees both views together (SimCLR's global BN).
          const { value, grads } = tf.variableGrads(() => {
            const z = head.apply(encoder.apply(x, { training: true }), { training: true }) as tf.Tensor2D;
            return ntXent(z.slice(0, batch.length), z.slice(batch.length, batch.length), temperature).loss;
          }, variables);
          ctx.optimizer.apply(variables, grads, ctx.learningRate);
          return value.dataSync()[0];
        });
        return { loss, human: loss, pseudo: NaN };
      },
      evaluate: async () => {
        const val = await evaluate();
        return { metric: val.top1, details: { valLoss: val.loss, temperature }, note: `val NT-Xent ${val.loss.toFixed(4)}` };
      },
    }));
  } finally {
    head.dispose();
  }
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
