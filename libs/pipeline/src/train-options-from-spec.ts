import { AUGMENT_LEVELS, requestFields, RUN_TRAIN_OPTION_NAMES, TRAIN_OPTIONS } from '@selftrain/options';
import { Augment, TrainObjective, type TrainOptions } from '@selftrain/proto';
import type { TrainSpec } from './spec';

const RUN_TRAIN_OPTIONS = Object.fromEntries(RUN_TRAIN_OPTION_NAMES.map((k) => [k, TRAIN_OPTIONS[k]]));

/** A spec's teacher or student section as TrainOptions: every declared option, sent as the spec holds it. */
export function trainOptionsFromSpec(t: TrainSpec, initCheckpoint = ''): TrainOptions {
  const fields = requestFields(RUN_TRAIN_OPTIONS, t as unknown as Record<string, unknown>, (name, v) => (name === 'augment' ? augmentCode(v as string) : v));
  return {
    ...(fields as unknown as TrainOptions), initCheckpoint,
    // Runs train classifiers; SimCLR pretraining is started by experiments (see pretrain.ts).
    objective: TrainObjective.TRAIN_OBJECTIVE_UNSPECIFIED,
  };
}

/** The proto's Augment enum numbers the declared levels in order from 1 (0 = unset). */
export function augmentCode(level: string): Augment {
  const i = AUGMENT_LEVELS.indexOf(level as (typeof AUGMENT_LEVELS)[number]);
  if (i < 0) throw new Error(`unknown augmentation level ${level}`);
  return (i + 1) as Augment;
}
