import { InputError, numberOr } from '@selftrain/errors';
import { Augment, TrainObjective, type TrainOptions } from '@selftrain/proto';

export type AugmentLevel = 'none' | 's1' | 's2' | 's3' | 's4';
export type Objective = 'supervised' | 'simclr';

/** TrainOptions with every default filled in and every value checked. */
export interface ResolvedTrainOptions {
  model: string;
  width: number;
  batchSize: number;
  maxSteps: number;
  learningRate: number;
  momentum: number;
  weightDecay: number;
  warmupSteps: number;
  checkpointEvery: number;
  evalEvery: number;
  patience: number;
  augment: AugmentLevel;
  dropout: number;
  stochasticDepth: number;
  seed: number;
  initCheckpoint: string;
  randAugmentN: number;
  randAugmentM: number;
  labelSmoothing: number;
  /** Segmentation: per-pixel loss weight n_c^-p by the pixel's class count in its half-batch; 0 = plain mean. */
  pixelClassBalance: number;
  objective: Objective;
  contrastiveTemperature: number;
  /** Joint training: the auxiliary dataset's prefix ('' = off) and its loss weight. */
  auxiliaryDataset: string;
  auxiliaryWeight: number;
}

export const TEACHER_DEFAULTS: ResolvedTrainOptions = {
  model: 'cnn-small', width: 0.5, batchSize: 64, maxSteps: 2000, learningRate: 0.05, momentum: 0.9,
  weightDecay: 5e-4, warmupSteps: 50, checkpointEvery: 500, evalEvery: 200, patience: 0, augment: 's1',
  dropout: 0.3, stochasticDepth: 0, seed: 1, initCheckpoint: '', randAugmentN: 2, randAugmentM: 9, labelSmoothing: 0, pixelClassBalance: 0,
  objective: 'supervised', contrastiveTemperature: 0.5, auxiliaryDataset: '', auxiliaryWeight: 1,
};

const AUGMENT_NAMES: Record<number, AugmentLevel> = {
  [Augment.AUGMENT_NONE]: 'none', [Augment.AUGMENT_S1]: 's1', [Augment.AUGMENT_S2]: 's2',
  [Augment.AUGMENT_S3]: 's3', [Augment.AUGMENT_S4]: 's4',
};

const OBJECTIVE_NAMES: Record<number, Objective> = {
  [TrainObjective.TRAIN_OBJECTIVE_SUPERVISED]: 'supervised', [TrainObjective.TRAIN_OBJECTIVE_SIMCLR]: 'simclr',
};

// Classifiers, the detector and the segmenter; which fit a dataset's task is checked where the task is known.
export const MODEL_CHOICES = ['cnn-small', 'resnet-small', 'retinanet', 'segmenter'];

/** `prefix` is the request field holding the options, so errors name e.g. "options.batch_size". */
export function resolveTrainOptions(o: TrainOptions | undefined, defaults: ResolvedTrainOptions, prefix = 'options'): ResolvedTrainOptions {
  const f = (name: string) => `${prefix}.${name}`;
  const model = o?.model || defaults.model;
  if (!MODEL_CHOICES.includes(model)) throw new InputError(f('model'), `unknown model ${JSON.stringify(model)}; choose one of ${MODEL_CHOICES.join(', ')}`);
  const augmentCode = o?.augment ?? Augment.AUGMENT_UNSPECIFIED;
  let augment = defaults.augment;
  if (augmentCode !== Augment.AUGMENT_UNSPECIFIED) {
    const name = AUGMENT_NAMES[augmentCode];
    if (!name) throw new InputError(f('augment'), `unknown augmentation ${augmentCode}`);
    augment = name;
  }
  const int = { integer: true };
  const resolved: ResolvedTrainOptions = {
    model,
    width: numberOr(o?.width, defaults.width, f('width'), { min: 0.125, max: 8 }),
    batchSize: numberOr(o?.batchSize, defaults.batchSize, f('batch_size'), { ...int, min: 2, max: 4096 }),
    maxSteps: numberOr(o?.maxSteps, defaults.maxSteps, f('max_steps'), { ...int, min: 1, max: 10_000_000 }),
    learningRate: numberOr(o?.learningRate, defaults.learningRate, f('learning_rate'), { min: 1e-7, max: 10 }),
    momentum: numberOr(o?.momentum, defaults.momentum, f('momentum'), { min: 0, max: 0.999 }),
    weightDecay: numberOr(o?.weightDecay, defaults.weightDecay, f('weight_decay'), { min: 0, max: 0.1 }),
    warmupSteps: numberOr(o?.warmupSteps, defaults.warmupSteps, f('warmup_steps'), { ...int, min: 0 }),
    checkpointEvery: numberOr(o?.checkpointEvery, defaults.checkpointEvery, f('checkpoint_every'), { ...int, min: 1 }),
    evalEvery: numberOr(o?.evalEvery, defaults.evalEvery, f('eval_every'), { ...int, min: 1 }),
    patience: numberOr(o?.patience, defaults.patience, f('patience'), { ...int, min: 0 }),
    augment,
    dropout: numberOr(o?.dropout, defaults.dropout, f('dropout'), { min: 0, max: 0.95 }),
    stochasticDepth: numberOr(o?.stochasticDepth, defaults.stochasticDepth, f('stochastic_depth'), { min: 0, max: 0.95 }),
    seed: numberOr(o?.seed, defaults.seed, f('seed'), { ...int, min: 0, max: 2 ** 31 - 1 }),
    initCheckpoint: o?.initCheckpoint ?? defaults.initCheckpoint,
    randAugmentN: numberOr(o?.randaugmentN, defaults.randAugmentN, f('randaugment_n'), { ...int, min: 1, max: 6 }),
    randAugmentM: numberOr(o?.randaugmentM, defaults.randAugmentM, f('randaugment_m'), { ...int, min: 1, max: 10 }),
    labelSmoothing: numberOr(o?.labelSmoothing, defaults.labelSmoothing, f('label_smoothing'), { min: 0, max: 0.5 }),
    pixelClassBalance: numberOr(o?.pixelClassBalance, defaults.pixelClassBalance, f('pixel_class_balance'), { min: 0, max: 1 }),
    objective: defaults.objective,
    contrastiveTemperature: numberOr(o?.contrastiveTemperature, defaults.contrastiveTemperature, f('contrastive_temperature'), { min: 0.01, max: 10 }),
    auxiliaryDataset: o?.auxiliaryDataset ?? defaults.auxiliaryDataset,
    auxiliaryWeight: numberOr(o?.auxiliaryWeight, defaults.auxiliaryWeight, f('auxiliary_weight'), { min: 0, max: 100 }),
  };
  const objectiveCode = o?.objective ?? TrainObjective.TRAIN_OBJECTIVE_UNSPECIFIED;
  if (objectiveCode !== TrainObjective.TRAIN_OBJECTIVE_UNSPECIFIED) {
    const name = OBJECTIVE_NAMES[objectiveCode];
    if (!name) throw new InputError(f('objective'), `unknown objective ${objectiveCode}`);
    resolved.objective = name;
  }
  if (resolved.objective === 'simclr' && resolved.auxiliaryDataset) {
    throw new InputError(f('auxiliary_dataset'), 'joint training needs the supervised objective, not simclr');
  }
  if (resolved.stochasticDepth > 0 && model === 'cnn-small') {
    throw new InputError(f('stochastic_depth'), 'needs residual blocks: use model resnet-small (cnn-small has none)');
  }
  return resolved;
}
