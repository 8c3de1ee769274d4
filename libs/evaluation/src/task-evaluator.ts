import type { ModelCache } from '@selftrain/checkpoints';
import type { CheckedTeacherModel, OnnxCheckpointCache, TeacherModelCache } from '@selftrain/export';
import type { tf } from '@selftrain/compute';
import type { ImageRecord } from '@selftrain/data';
import type { DatasetManifest, EvaluateResponse } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';

export interface EvaluatorDeps {
  store: ObjectStore;
  models: ModelCache;
  /** Users' models (teacher_model), opened once for many calls; default: opened for each call. */
  teacherModels?: TeacherModelCache;
  /** Classification checkpoints on onnxruntime (the default on CPU, see classificationEngine); absent: on TF.js. */
  checkpointSessions?: OnnxCheckpointCache;
  backend: string;
}

export interface EvaluateInput {
  /** '' when teacherModel is set. */
  checkpoint: string;
  /** A user's model scored in place of the checkpoint (classification). */
  teacherModel?: CheckedTeacherModel;
  dataset: string;
  split: string;
  batchSize: number;
  threshold: number;
  /** Detection / segmentation: where the predictions are written ('' = not written). */
  predictionsPrefix: string;
}

/** What a task's evaluator gets: the split's records and the checkpoint, loaded once by evaluateCheckpoint. */
export interface EvaluationContext {
  deps: EvaluatorDeps;
  input: EvaluateInput;
  manifest: DatasetManifest;
  model: tf.LayersModel;
  records: ImageRecord[];
  /**
   * The response every task shares (counts, class names, checkpoint digest, backend), the task's own
   * figures at zero; the evaluator fills in its metric.
   */
  response: EvaluateResponse;
}

/** One task's part of evaluateCheckpoint: classification, detection or segmentation. */
export interface TaskEvaluator {
  /** Refuses what the request asks that this task cannot do, before the checkpoint and the split are read. */
  checkInput?(input: EvaluateInput): void;
  /** Refuses a checkpoint that is not a model of this task for this dataset. */
  checkModel?(model: tf.LayersModel, manifest: DatasetManifest): void;
  evaluate(ctx: EvaluationContext): Promise<EvaluateResponse>;
}
