import { InputError } from '@selftrain/errors';
import {
  AUGMENT_LEVELS, defaultFor, MODEL_NAMES, OBJECTIVES, resolveOption, TRAIN_OPTIONS,
  type AugmentLevel, type Objective, type Role, type Task,
} from '@selftrain/options';
import { Augment, TrainObjective, type TrainOptions } from '@selftrain/proto';

export type { AugmentLevel, Objective } from '@selftrain/options';

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

/** The declared defaults (libs/options) of one task and role. */
export function trainDefaults(task: Task, role: Role): ResolvedTrainOptions {
  const out: Record<string, unknown> = {};
  for (const [name, option] of Object.entries(TRAIN_OPTIONS)) out[name] = defaultFor(option, task, role);
  return out as unknown as ResolvedTrainOptions;
}

export const TEACHER_DEFAULTS: ResolvedTrainOptions = trainDefaults('classification', 'teacher');

// Classifiers, the detector and the segmenter; which fit a dataset's task is checked where the task is known.
export const MODEL_CHOICES: readonly string[] = MODEL_NAMES;

type NumberName = { [K in keyof typeof TRAIN_OPTIONS]: (typeof TRAIN_OPTIONS)[K]['type'] extends 'number' ? K : never }[keyof typeof TRAIN_OPTIONS];

/**
 * `prefix` is the request field holding the options, so errors name e.g. "options.batch_size". A field
 * left out takes its default from `defaults`; one that is sent (0 included) is checked and kept.
 */
export function resolveTrainOptions(o: TrainOptions | undefined, defaults: ResolvedTrainOptions, prefix = 'options'): ResolvedTrainOptions {
  const f = (name: string) => `${prefix}.${name}`;
  const resolved = { ...defaults };
  const wire = (o ?? {}) as unknown as Record<string, unknown>;
  for (const [name, option] of Object.entries(TRAIN_OPTIONS)) {
    if (option.type !== 'number' || option.proto === undefined) continue;
    const value = wire[option.proto] as number | undefined;
    (resolved as unknown as Record<string, number>)[name as NumberName] = value === undefined ? defaults[name as NumberName] : resolveOption(option, value, f(option.spec ?? option.proto));
  }
  // Strings and enums: proto3 sends "" and 0 for unset, and neither is a valid value.
  if (o?.model) resolved.model = resolveOption(TRAIN_OPTIONS.model, o.model, f('model'));
  if (o?.initCheckpoint) resolved.initCheckpoint = o.initCheckpoint;
  if (o?.auxiliaryDataset) resolved.auxiliaryDataset = o.auxiliaryDataset;
  resolved.augment = enumOption(o?.augment ?? Augment.AUGMENT_UNSPECIFIED, AUGMENT_LEVELS, defaults.augment, f('augment'), 'augmentation');
  resolved.objective = enumOption(o?.objective ?? TrainObjective.TRAIN_OBJECTIVE_UNSPECIFIED, OBJECTIVES, defaults.objective, f('objective'), 'objective');
  if (resolved.objective === 'simclr' && resolved.auxiliaryDataset) {
    throw new InputError(f('auxiliary_dataset'), 'joint training needs the supervised objective, not simclr');
  }
  if (resolved.stochasticDepth > 0 && resolved.model === 'cnn-small') {
    throw new InputError(f('stochastic_depth'), 'needs residual blocks: use model resnet-small or resnet18 (cnn-small has none)');
  }
  return resolved;
}

/** The proto's enums number their choices in the declared order from 1; 0 is unset. */
function enumOption<T extends string>(code: number, choices: readonly T[], fallback: T, field: string, what: string): T {
  if (code === 0) return fallback;
  const name = choices[code - 1];
  if (!name) throw new InputError(field, `unknown ${what} ${code}`);
  return name;
}

