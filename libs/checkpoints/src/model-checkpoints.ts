import { tf } from '@selftrain/compute';
import { buildModel } from '@selftrain/models';
import type { Artifact } from '@selftrain/proto';
import { loadModelFromBucket, saveModelToBucket, type ObjectStore } from '@selftrain/storage';
import type { ImageShape, ResolvedTrainOptions } from '@selftrain/train';

/** A fresh model from the zoo, or the weights of a stored checkpoint (the "init" of the paper's tables). */
export async function initialModel(store: ObjectStore, o: ResolvedTrainOptions, shape: ImageShape, numClasses: number): Promise<tf.LayersModel> {
  const model = buildModel({
    name: o.model as 'cnn-small' | 'resnet-small', inputShape: [shape.height, shape.width, shape.channels], numClasses,
    width: o.width, dropout: o.dropout, stochasticDepth: o.stochasticDepth, seed: o.seed,
  });
  if (!o.initCheckpoint) return model;
  // Weights come from the checkpoint, the noise (dropout, stochastic depth) from this job's options.
  const init = await loadModelFromBucket(store, o.initCheckpoint);
  try {
    model.setWeights(init.getWeights());
  } catch (err) {
    model.dispose();
    throw new Error(`options.init_checkpoint ${o.initCheckpoint} does not fit model ${o.model} (width ${o.width}): ${(err as Error).message}`);
  } finally {
    init.dispose();
  }
  return model;
}

export function checkpointSaver(store: ObjectStore, model: tf.LayersModel, outputPrefix: string, meta: Record<string, unknown>) {
  return (kind: 'best' | 'last', step: number, extra: Record<string, unknown>): Promise<Artifact> =>
    saveModelToBucket(store, `${outputPrefix}/checkpoints/${kind}`, model, { ...meta, ...extra, kind, step });
}
