import type { BackendInfo, tf } from '@selftrain/compute';
import type { ImageRecord } from '@selftrain/data';
import type { DatasetManifest, TrainResult } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';
import type { ImageShape, TrainingLoopInput } from '@selftrain/train';
import type { TrainingRequest } from './validate-requests';

export interface TrainerDeps {
  store: ObjectStore;
  backend: BackendInfo;
  /** Threads a classifier's training splits each batch over on wasm (the service's TRAIN_THREADS); default 1. */
  trainThreads?: number;
}

/** What a task's trainer gets from the job: the model (resumed if the job was), the splits, the loop's plumbing. */
export interface TaskTrainingInput<E> extends TrainingLoopInput<E> {
  deps: TrainerDeps;
  req: TrainingRequest;
  manifest: DatasetManifest;
  model: tf.LayersModel;
  shape: ImageShape;
  validation: E[];
}

/** One task's part of a teacher or student job: classification, detection or segmentation. */
export interface TaskTrainer<E> {
  /** Refuses options this task cannot use, before anything is loaded. */
  checkRequest?(req: TrainingRequest, manifest: DatasetManifest): void;
  /** A labeled split (train or validation) in memory; `field` names it in errors. */
  loadSplit(deps: TrainerDeps, manifest: DatasetManifest, dataset: string, split: string, field: string): Promise<E[]>;
  /** A pseudo-label record as a training example; refuses one without this task's labels. */
  pseudoExample(record: ImageRecord, manifest: DatasetManifest): E;
  /** Pseudo-labeled examples held at once while the student streams the pseudo-label shards. */
  pseudoBuffer: number;
  train(input: TaskTrainingInput<E>): Promise<TrainResult>;
}
