import { InputError, MAX_PREFIX_BYTES, requireId, requireKey } from '@selftrain/errors';
import { resolveOption, STUDENT_OPTIONS } from '@selftrain/options';
import type { Shard, StartStudentRequest, StartTeacherRequest } from '@selftrain/proto';
import { resolveTrainOptions, TEACHER_DEFAULTS, trainDefaults, type ResolvedTrainOptions } from '@selftrain/train';

export interface TrainingRequest {
  jobId: string;
  dataset: string;
  trainSplit: string;
  validationSplit: string;
  outputPrefix: string;
  options: ResolvedTrainOptions;
}

export interface StudentTrainingRequest extends TrainingRequest {
  pseudoShards: Shard[];
  alpha: number;
  pseudoFraction: number;
  normalizeLoss: boolean;
}

export const STUDENT_DEFAULTS: ResolvedTrainOptions = trainDefaults('classification', 'student');

function common(req: StartTeacherRequest | StartStudentRequest, defaults: ResolvedTrainOptions): TrainingRequest {
  const options = resolveTrainOptions(req.options, defaults);
  if (options.initCheckpoint) requireKey(options.initCheckpoint, 'options.init_checkpoint');
  if (options.auxiliaryDataset) requireKey(options.auxiliaryDataset, 'options.auxiliary_dataset', MAX_PREFIX_BYTES);
  return {
    jobId: requireId(req.jobId, 'job_id'),
    dataset: requireKey(req.dataset, 'dataset', MAX_PREFIX_BYTES),
    trainSplit: req.trainSplit ? requireId(req.trainSplit, 'train_split') : 'labeled',
    validationSplit: req.validationSplit ? requireId(req.validationSplit, 'validation_split') : 'val',
    outputPrefix: requireKey(req.outputPrefix, 'output_prefix', MAX_PREFIX_BYTES),
    options,
  };
}

export function validateTeacherRequest(req: StartTeacherRequest): TrainingRequest {
  return common(req, TEACHER_DEFAULTS);
}

export function validateStudentRequest(req: StartStudentRequest): StudentTrainingRequest {
  const base = common(req, STUDENT_DEFAULTS);
  if (base.options.objective === 'simclr') throw new InputError('options.objective', 'SIMCLR pretraining runs on the teacher; the student learns from labels');
  if (req.pseudoShards.length === 0) throw new InputError('pseudo_shards', 'is empty: the student needs pseudo-labeled shards');
  req.pseudoShards.forEach((s, i) => requireKey(s.key, `pseudo_shards[${i}].key`));
  return {
    ...base,
    pseudoShards: req.pseudoShards,
    alpha: resolveOption(STUDENT_OPTIONS.alpha, req.alpha, 'alpha'),
    pseudoFraction: resolveOption(STUDENT_OPTIONS.pseudoFraction, req.pseudoFraction, 'pseudo_fraction'),
    normalizeLoss: !req.disableLossNormalization,
  };
}
