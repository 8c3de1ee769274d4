// The request messages of the four services, field by field, as the wire sees them (protos/selftrain/v1).
// Field kinds say which hostile values fit: `id` becomes part of an object key, `key` is an object key.
// protobuf-wire.test.ts checks these against the ts-proto decoders, so a drift from the .proto fails there.

export type ScalarKind = 'id' | 'key' | 'string' | 'int32' | 'int64' | 'double' | 'bool' | 'enum';

export interface FieldSpec {
  no: number;
  name: string;
  kind: ScalarKind | MessageSpec;
  repeated?: boolean;
}

export interface MessageSpec {
  name: string;
  fields: FieldSpec[];
}

export const TRAIN_OPTIONS: MessageSpec = {
  name: 'TrainOptions',
  fields: [
    { no: 1, name: 'model', kind: 'string' }, { no: 2, name: 'width', kind: 'double' }, { no: 3, name: 'batch_size', kind: 'int32' },
    { no: 4, name: 'max_steps', kind: 'int32' }, { no: 5, name: 'learning_rate', kind: 'double' }, { no: 6, name: 'momentum', kind: 'double' },
    { no: 7, name: 'weight_decay', kind: 'double' }, { no: 8, name: 'warmup_steps', kind: 'int32' }, { no: 9, name: 'checkpoint_every', kind: 'int32' },
    { no: 10, name: 'eval_every', kind: 'int32' }, { no: 11, name: 'patience', kind: 'int32' }, { no: 12, name: 'augment', kind: 'enum' },
    { no: 13, name: 'dropout', kind: 'double' }, { no: 14, name: 'stochastic_depth', kind: 'double' }, { no: 15, name: 'seed', kind: 'int32' },
    { no: 16, name: 'init_checkpoint', kind: 'key' }, { no: 17, name: 'randaugment_n', kind: 'int32' }, { no: 18, name: 'randaugment_m', kind: 'int32' },
    { no: 19, name: 'label_smoothing', kind: 'double' }, { no: 20, name: 'objective', kind: 'enum' },
    { no: 21, name: 'contrastive_temperature', kind: 'double' }, { no: 22, name: 'auxiliary_dataset', kind: 'key' },
    { no: 23, name: 'auxiliary_weight', kind: 'double' },
  ],
};

export const SHARD: MessageSpec = {
  name: 'Shard',
  fields: [{ no: 1, name: 'key', kind: 'key' }, { no: 2, name: 'records', kind: 'int64' }, { no: 3, name: 'sha256', kind: 'string' }, { no: 4, name: 'size_bytes', kind: 'int64' }],
};

export const LABELING_OPTIONS: MessageSpec = {
  name: 'LabelingOptions',
  fields: [
    { no: 1, name: 'threshold', kind: 'double' }, { no: 2, name: 'soft', kind: 'bool' }, { no: 3, name: 'temperature', kind: 'double' },
    { no: 4, name: 'balance', kind: 'bool' }, { no: 5, name: 'per_class_cap', kind: 'int32' }, { no: 6, name: 'balance_min_confidence', kind: 'double' },
    { no: 7, name: 'batch_size', kind: 'int32' }, { no: 8, name: 'soft_nms', kind: 'bool' }, { no: 9, name: 'drop_empty_images', kind: 'bool' },
    // scales (10, repeated double) is left out: the encoder here writes scalars and messages only.
  ],
};

export const START_TEACHER: MessageSpec = {
  name: 'StartTeacherRequest',
  fields: [
    { no: 1, name: 'job_id', kind: 'id' }, { no: 2, name: 'dataset', kind: 'key' }, { no: 3, name: 'train_split', kind: 'id' },
    { no: 4, name: 'validation_split', kind: 'id' }, { no: 5, name: 'options', kind: TRAIN_OPTIONS }, { no: 6, name: 'output_prefix', kind: 'key' },
  ],
};

export const START_STUDENT: MessageSpec = {
  name: 'StartStudentRequest',
  fields: [
    { no: 1, name: 'job_id', kind: 'id' }, { no: 2, name: 'dataset', kind: 'key' }, { no: 3, name: 'train_split', kind: 'id' },
    { no: 4, name: 'validation_split', kind: 'id' }, { no: 5, name: 'pseudo_shards', kind: SHARD, repeated: true },
    { no: 6, name: 'options', kind: TRAIN_OPTIONS }, { no: 7, name: 'output_prefix', kind: 'key' }, { no: 8, name: 'alpha', kind: 'double' },
    { no: 9, name: 'pseudo_fraction', kind: 'double' }, { no: 10, name: 'disable_loss_normalization', kind: 'bool' },
  ],
};

export const JOB_ID_REQUEST: MessageSpec = { name: 'GetJobRequest', fields: [{ no: 1, name: 'job_id', kind: 'id' }] };

export const WATCH_JOB: MessageSpec = { name: 'WatchJobRequest', fields: [{ no: 1, name: 'job_id', kind: 'id' }, { no: 2, name: 'after_seq', kind: 'int64' }] };

export const GET_INFO: MessageSpec = { name: 'GetInfoRequest', fields: [] };

export const LABEL_SHARD: MessageSpec = {
  name: 'LabelShardRequest',
  fields: [
    { no: 1, name: 'checkpoint', kind: 'key' }, { no: 2, name: 'dataset', kind: 'key' }, { no: 3, name: 'shard', kind: 'key' },
    { no: 4, name: 'options', kind: LABELING_OPTIONS }, { no: 5, name: 'output_prefix', kind: 'key' },
  ],
};

export const EVALUATE: MessageSpec = {
  name: 'EvaluateRequest',
  fields: [
    { no: 1, name: 'checkpoint', kind: 'key' }, { no: 2, name: 'dataset', kind: 'key' }, { no: 3, name: 'split', kind: 'id' },
    { no: 4, name: 'batch_size', kind: 'int32' }, { no: 5, name: 'threshold', kind: 'double' }, { no: 6, name: 'predictions_prefix', kind: 'key' },
  ],
};

/** A value for encodeMessage: scalars as JS values, messages as objects by field name, repeated as arrays. */
export type WireValue = string | number | bigint | boolean | Buffer | WireObject | WireValue[];
export interface WireObject { [field: string]: WireValue | undefined }
