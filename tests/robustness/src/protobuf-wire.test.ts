// The hand-made encoder must agree with the .proto: a schema that drifted would send junk where the
// tests mean a well-formed request, and the figures would be wrong without any test failing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EvaluateRequest, LabelingOptions, LabelShardRequest, StartStudentRequest, StartTeacherRequest, TrainOptions, WatchJobRequest } from '@selftrain/proto';
import { encodeMessage } from './protobuf-wire';
import { EVALUATE, LABEL_SHARD, LABELING_OPTIONS, START_STUDENT, START_TEACHER, TRAIN_OPTIONS, WATCH_JOB } from './request-schemas';

const options = {
  model: 'resnet-small', width: 0.5, batch_size: 32, max_steps: 7, learning_rate: 0.1, momentum: 0.9, weight_decay: 0.0005,
  warmup_steps: 3, checkpoint_every: 4, eval_every: 5, patience: 6, augment: 3, dropout: 0.2, stochastic_depth: 0.1, seed: 42,
  init_checkpoint: 'a/b.json', randaugment_n: 2, randaugment_m: 9, label_smoothing: 0.1, objective: 2, contrastive_temperature: 0.2,
  auxiliary_dataset: 'datasets/aux', auxiliary_weight: 0.5, pixel_class_balance: 0.5,
};
const decodedOptions = {
  model: 'resnet-small', width: 0.5, batchSize: 32, maxSteps: 7, learningRate: 0.1, momentum: 0.9, weightDecay: 0.0005, warmupSteps: 3,
  checkpointEvery: 4, evalEvery: 5, patience: 6, augment: 3, dropout: 0.2, stochasticDepth: 0.1, seed: 42, initCheckpoint: 'a/b.json',
  randaugmentN: 2, randaugmentM: 9, labelSmoothing: 0.1, objective: 2, contrastiveTemperature: 0.2, auxiliaryDataset: 'datasets/aux', auxiliaryWeight: 0.5,
  pixelClassBalance: 0.5,
};

test('every field of every schema decodes to the same-named field of the generated type', () => {
  assert.deepEqual(StartTeacherRequest.decode(encodeMessage(START_TEACHER, {
    job_id: 'j', dataset: 'd', train_split: 't', validation_split: 'v', options, output_prefix: 'o',
  })), StartTeacherRequest.fromPartial({ jobId: 'j', dataset: 'd', trainSplit: 't', validationSplit: 'v', options: decodedOptions, outputPrefix: 'o' }));
  assert.deepEqual(StartStudentRequest.decode(encodeMessage(START_STUDENT, {
    job_id: 'j', dataset: 'd', train_split: 't', validation_split: 'v', options, output_prefix: 'o', alpha: 2, pseudo_fraction: 0.25,
    disable_loss_normalization: true, pseudo_shards: [{ key: 'k1', records: 3, sha256: 's', size_bytes: 9 }, { key: 'k2' }],
  })), StartStudentRequest.fromPartial({
    jobId: 'j', dataset: 'd', trainSplit: 't', validationSplit: 'v', options: decodedOptions, outputPrefix: 'o', alpha: 2, pseudoFraction: 0.25,
    disableLossNormalization: true, pseudoShards: [{ key: 'k1', records: 3, sha256: 's', sizeBytes: 9 }, { key: 'k2' }],
  }));
  assert.deepEqual(WatchJobRequest.decode(encodeMessage(WATCH_JOB, { job_id: 'j', after_seq: 12 })), { jobId: 'j', afterSeq: 12 });
  assert.deepEqual(LabelShardRequest.decode(encodeMessage(LABEL_SHARD, {
    checkpoint: 'c', dataset: 'd', shard: 's', output_prefix: 'o',
    options: { threshold: 0.7, soft: true, temperature: 2, balance: true, per_class_cap: 5, balance_min_confidence: 0.3, batch_size: 64, soft_nms: true, drop_empty_images: true, scales: [0.5, 1.25] },
  })), LabelShardRequest.fromPartial({
    checkpoint: 'c', dataset: 'd', shard: 's', outputPrefix: 'o',
    options: { threshold: 0.7, soft: true, temperature: 2, balance: true, perClassCap: 5, balanceMinConfidence: 0.3, batchSize: 64, softNms: true, dropEmptyImages: true, scales: [0.5, 1.25] },
  }));
  assert.deepEqual(EvaluateRequest.decode(encodeMessage(EVALUATE, { checkpoint: 'c', dataset: 'd', split: 's', batch_size: 8, threshold: 0.4, predictions_prefix: 'p' })),
    EvaluateRequest.fromPartial({ checkpoint: 'c', dataset: 'd', split: 's', batchSize: 8, threshold: 0.4, predictionsPrefix: 'p' }));
});

test('negative int32 values are sign-extended as protobuf requires', () => {
  assert.equal(EvaluateRequest.decode(encodeMessage(EVALUATE, { batch_size: -5 })).batchSize, -5);
});

test('the schemas come from the .proto: every field of the generated types is there, under its own number', () => {
  // A field the .proto has and a hand-written table forgot (pixel_class_balance once) would be missing here.
  assert.ok(TRAIN_OPTIONS.fields.some((f) => f.name === 'pixel_class_balance' && f.kind === 'double'));
  assert.equal(TRAIN_OPTIONS.fields.length, Object.keys(TrainOptions.fromPartial({})).length);
  assert.equal(LABELING_OPTIONS.fields.length, Object.keys(LabelingOptions.fromPartial({})).length);
  assert.equal(START_STUDENT.fields.length, Object.keys(StartStudentRequest.fromPartial({})).length);
  assert.equal(START_STUDENT.fields.find((f) => f.name === 'pseudo_shards')?.repeated, true);
  assert.equal(START_TEACHER.fields.find((f) => f.name === 'job_id')?.kind, 'id');
  assert.equal(EVALUATE.fields.find((f) => f.name === 'predictions_prefix')?.kind, 'key');
});
