import type { ImageRecord } from '@selftrain/data';
import { InputError } from '@selftrain/errors';
import type { ObjectStore } from '@selftrain/storage';
import { trainClassifier, type AuxiliaryTask, type Example, type ImageShape } from '@selftrain/train';
import { loadLabeledSplit } from './dataset-examples';
import type { TaskTrainer } from './task-trainer';
import type { TrainingRequest } from './validate-requests';

/**
 * Teacher and student jobs on classification datasets: the zoo classifier, hard or soft pseudo-labels,
 * the batch split over TRAIN_THREADS on wasm, and joint training with options.auxiliary_dataset.
 */
export const classificationTrainer: TaskTrainer<Example> = {
  async loadSplit(deps, _manifest, dataset, split, field) {
    return (await loadLabeledSplit(deps.store, dataset, split, field)).examples;
  },
  pseudoExample(r: ImageRecord, manifest) {
    const numClasses = manifest.classNames.length;
    if (r.label === undefined && !r.probabilities) throw new InputError('pseudo_shards', `record ${r.key} has neither a label nor probabilities`);
    if (r.probabilities && r.probabilities.length !== numClasses) throw new InputError('pseudo_shards', `record ${r.key} has ${r.probabilities.length} probabilities, expected ${numClasses}`);
    return { image: r.image, label: r.label ?? 0, probabilities: r.probabilities };
  },
  pseudoBuffer: 8192,
  async train(input) {
    const auxiliary = await loadAuxiliaryTask(input.deps.store, input.req, input.shape);
    if (auxiliary) input.logger?.info({ auxiliary: auxiliary.examples.length }, 'joint training');
    return trainClassifier({ ...input, numClasses: input.manifest.classNames.length, auxiliary, threads: input.deps.trainThreads });
  },
};

/** Joint training's other task: the labeled split of options.auxiliary_dataset, with the task's image shape. */
async function loadAuxiliaryTask(store: ObjectStore, req: TrainingRequest, shape: ImageShape): Promise<AuxiliaryTask | undefined> {
  const prefix = req.options.auxiliaryDataset;
  if (!prefix) return undefined;
  const aux = await loadLabeledSplit(store, prefix, 'labeled', 'options.auxiliary_dataset');
  const dims = (s: ImageShape) => `${s.height}x${s.width}x${s.channels}`;
  if (dims(aux.shape) !== dims(shape)) {
    throw new InputError('options.auxiliary_dataset', `${prefix} has ${dims(aux.shape)} images, the task ${dims(shape)}`);
  }
  return { examples: aux.examples, numClasses: aux.manifest.classNames.length, weight: req.options.auxiliaryWeight };
}
