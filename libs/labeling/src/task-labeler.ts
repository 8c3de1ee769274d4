import type { ModelCache } from '@selftrain/checkpoints';
import type { CheckedTeacherModel, OnnxCheckpointCache, DenseTeacher, TeacherModelCache } from '@selftrain/export';
import type { tf } from '@selftrain/compute';
import type { ImageRecord, ShardCodec } from '@selftrain/data';
import type { Logger } from '@selftrain/logger';
import type { DatasetManifest, LabelStats } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';
import type { DenseShardOptions } from './dense-shard-options';
import type { ResolvedLabelingOptions } from './labeling-options';
import type { OneAtATime } from './one-at-a-time';

export interface LabelerDeps {
  store: ObjectStore;
  models: ModelCache;
  /**
   * Classification checkpoints on onnxruntime (the labeler's default engine on CPU, see
   * classificationEngine); absent: on TF.js, as `models` loads them.
   */
  checkpointSessions?: OnnxCheckpointCache;
  /** Users' models (teacher_model), opened once for many shards; default: opened for each call. */
  teacherModels?: TeacherModelCache;
  backend: string;
  logger: Logger;
  /** Where shards are decoded and encoded (default: this thread). See sharedLabelerParts. */
  codec?: ShardCodec;
  /** Inference, one shard at a time (default: each call runs its own at once). See sharedLabelerParts. */
  inference?: OneAtATime;
}

export interface LabelShardInput {
  /** '' when teacherModel is set. */
  checkpoint: string;
  /** A user's model in place of the checkpoint (classification). */
  teacherModel?: CheckedTeacherModel;
  dataset: string;
  shard: string;
  outputPrefix: string;
  options: ResolvedLabelingOptions;
  /** The detection / segmentation fields (absent: none set); which apply is known once the manifest is read. */
  dense?: DenseShardOptions;
}

/** A shard's pseudo-labels as a task made them. */
export interface TaskLabels {
  /** The records to write, in the human record format. */
  records: ImageRecord[];
  /** Their summary, as the proto reports it. */
  labelStats: LabelStats;
  /** More for the stats object, beside its common fields (detection / segmentation: the library's statistics). */
  stats: Record<string, unknown>;
  /** Nothing passed the threshold: worth a warning (the driver's guard looks at all shards together). */
  keptNothing: boolean;
}

/** One shard's labeling with a task's options resolved. */
export interface ShardLabeling {
  /**
   * The options the output key digests beside the checkpoint and the shard, and the stats object
   * records. Kept as each task first wrote them, so a shard labeled before is found again.
   */
  options: { threshold: number };
  label(model: tf.LayersModel, records: ImageRecord[]): Promise<TaskLabels>;
  /** Detection and segmentation: the same labels from a user's model (teacher_model) in place of the checkpoint. */
  labelWith?(teacher: DenseTeacher, records: ImageRecord[]): Promise<TaskLabels>;
}

/** One task's part of labelShard: classification, detection or segmentation. */
export interface TaskLabeler {
  /** The task's options for this request (after assertOptionsFitTask has refused the other tasks' fields). */
  resolve(input: LabelShardInput, manifest: DatasetManifest): ShardLabeling;
  /** Refuses a checkpoint that is not a model of this task for this dataset. */
  checkModel?(model: tf.LayersModel, manifest: DatasetManifest): void;
}
