import { tf } from '@selftrain/compute';
import { InputError } from '@selftrain/errors';
import type { Artifact } from '@selftrain/proto';
import { loadModelFromBucket, saveModelToBucket, type ObjectStore } from '@selftrain/storage';
import type { ImageShape, ResolvedTrainOptions, TrainingState } from '@selftrain/train';
import { inputMetadata } from './input-preprocessing';
import { buildTaskModel, type ModelTask } from './task-models';
import { saveTrainingState } from './training-state-store';

/** A fresh model from the zoo, or the weights of a stored checkpoint (the "init" of the paper's tables). */
export async function initialModel(store: ObjectStore, o: ResolvedTrainOptions, shape: ImageShape, numClasses: number, task: ModelTask = 'classification'): Promise<tf.LayersModel> {
  const model = buildTaskModel(o, shape, numClasses, task);
  if (!o.initCheckpoint) return model;
  // Weights come from the checkpoint, the noise (dropout, stochastic depth) from this job's options.
  const init = await loadModelFromBucket(store, o.initCheckpoint);
  try {
    if (!transferWeights(init, model)) model.setWeights(init.getWeights());
  } catch (err) {
    model.dispose();
    // The caller's choice of checkpoint, not a fault of the service.
    throw new InputError('options.init_checkpoint', `${o.initCheckpoint} does not fit model ${o.model} (width ${o.width}): ${(err as Error).message}`, { cause: err });
  } finally {
    init.dispose();
  }
  return model;
}

/**
 * A checkpoint pretrained on another label space (the paper's "Pretrain Init"): every layer but the
 * classification head ('logits') takes its weights; the head keeps its fresh initialisation. Returns
 * false when the heads have the same shape (then all weights are copied as usual).
 */
export function transferWeights(from: tf.LayersModel, to: tf.LayersModel): boolean {
  const head = (m: tf.LayersModel) => m.layers.find((l) => l.name === 'logits');
  const [a, b] = [head(from), head(to)];
  if (!a || !b || a.getWeights().every((w, i) => w.shape.join() === b.getWeights()[i]?.shape.join())) return false;
  if (from.layers.length !== to.layers.length) throw new Error(`the checkpoint has ${from.layers.length} layers, the model ${to.layers.length}`);
  to.layers.forEach((layer, i) => {
    if (layer.name === 'logits') return;
    // Copies are owned by the target model; setWeights takes its own copy.
    layer.setWeights(from.layers[i].getWeights());
  });
  return true;
}

/** Saves a job's checkpoints; each records the input the model trains on (`shape`: geometry and normalisation). */
export function checkpointSaver(store: ObjectStore, model: tf.LayersModel, outputPrefix: string, shape: ImageShape, meta: Record<string, unknown>) {
  return async (kind: 'best' | 'last', step: number, extra: Record<string, unknown>, state?: TrainingState): Promise<Artifact> => {
    const dir = `${outputPrefix}/checkpoints/${kind}`;
    if (state) await saveTrainingState(store, dir, state);
    return saveModelToBucket(store, dir, model, { ...meta, ...inputMetadata(shape), ...extra, kind, step });
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
