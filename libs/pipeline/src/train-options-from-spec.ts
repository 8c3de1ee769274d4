import { Augment, TrainObjective, type TrainOptions } from '@selftrain/proto';
import type { TrainSpec } from './spec';

const AUGMENTS: Record<string, Augment> = {
  none: Augment.AUGMENT_NONE, s1: Augment.AUGMENT_S1, s2: Augment.AUGMENT_S2, s3: Augment.AUGMENT_S3, s4: Augment.AUGMENT_S4,
};

export function trainOptionsFromSpec(t: TrainSpec, initCheckpoint = ''): TrainOptions {
  return {
    model: t.model, width: t.width, batchSize: t.batch_size, maxSteps: t.max_steps, learningRate: t.learning_rate,
    momentum: t.momentum, weightDecay: t.weight_decay, warmupSteps: t.warmup_steps, checkpointEvery: t.checkpoint_every,
    evalEvery: t.eval_every, patience: t.patience, augment: AUGMENTS[t.augment], dropout: t.dropout,
    stochasticDepth: t.stochastic_depth, seed: t.seed, initCheckpoint, randaugmentN: t.randaugment_n,
    randaugmentM: t.randaugment_m, labelSmoothing: t.label_smoothing, pixelClassBalance: t.pixel_class_balance, auxiliaryDataset: t.auxiliary_dataset,
    auxiliaryWeight: t.auxiliary_weight,
    // Runs train classifiers; SimCLR pretraining is started by experiments (see pretrain.ts).
    objective: TrainObjective.TRAIN_OBJECTIVE_UNSPECIFIED, contrastiveTemperature: 0,
  };
}
