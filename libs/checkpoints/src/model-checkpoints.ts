import type { tf } from '@selftrain/compute';
import type { Artifact, InitReport } from '@selftrain/proto';
import { loadModelFromBucket, saveModelToBucket, type ObjectStore } from '@selftrain/storage';
import type { ImageShape, ResolvedTrainOptions, TrainingState } from '@selftrain/train';
import { applyInitCheckpoint } from './init-weights';
import { inputMetadata } from './input-preprocessing';
import { buildTaskModel, type ModelTask } from './task-models';
import { pruneTrainingStates, saveTrainingState } from './training-state-store';

/** A job's model, and when it started from an init checkpoint, which of the init's weights it took. */
export interface InitialModel {
  model: tf.LayersModel;
  init?: InitReport;
}

/**
 * A fresh model from the zoo, or one that starts from a stored model's weights (the "init" of the paper's
 * tables): matched layer by layer by name and shape, so a checkpoint of another label space gives all but
 * the head (the paper's Pretrain Init). The noise (dropout, stochastic depth) is this job's options'.
 */
export async function initialModel(store: ObjectStore, o: ResolvedTrainOptions, shape: ImageShape, numClasses: number, task: ModelTask = 'classification'): Promise<InitialModel> {
  const model = buildTaskModel(o, shape, numClasses, task);
  if (!o.initCheckpoint) return { model };
  try {
    return { model, init: await applyInitCheckpoint(store, model, o) };
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/** Saves a job's checkpoints; each records the input the model trains on (`shape`: geometry and normalisation). */
export function checkpointSaver(store: ObjectStore, model: tf.LayersModel, outputPrefix: string, shape: ImageShape, meta: Record<string, unknown>) {
  // The step whose training state this saver last committed, per directory (see pruneTrainingStates).
  const committedStates = new Map<string, number>();
  return async (kind: 'best' | 'last', step: number, extra: Record<string, unknown>, state?: TrainingState): Promise<Artifact> => {
    const dir = `${outputPrefix}/checkpoints/${kind}`;
    if (state) await saveTrainingState(store, dir, state);
    const saved = await saveModelToBucket(store, dir, model, { ...meta, ...inputMetadata(shape), ...extra, kind, step });
    if (state) {
      await pruneTrainingStates(store, dir, step, committedStates.get(dir));
      committedStates.set(dir, step);
    }
    return saved;
  };
}

/** The model of a 'last' checkpoint, to resume training into (built like the job's own, then given its weights). */
export async function loadWeightsInto(store: ObjectStore, model: tf.LayersModel, checkpoint: string): Promise<void> {
  const saved = await loadModelFromBucket(store, checkpoint);
  try {
    model.setWeights(saved.getWeights());
  } finally {
    saved.dispose();
  }
}
