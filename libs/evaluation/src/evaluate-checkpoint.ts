import { assertCheckpointFitsDataset } from '@selftrain/checkpoints';
import { loadManifest, readSplit, splitOf, taskOf, type Task } from '@selftrain/data';
import { InputError, MAX_PREFIX_BYTES, requireId, requireKey } from '@selftrain/errors';
import { EVALUATION_OPTIONS, resolveOption } from '@selftrain/options';
import type { EvaluateRequest, EvaluateResponse } from '@selftrain/proto';
import { classificationEvaluator } from './evaluate-classification';
import { detectionEvaluator } from './evaluate-detections';
import { segmentationEvaluator } from './evaluate-segmentation';
import type { EvaluateInput, EvaluatorDeps, TaskEvaluator } from './task-evaluator';

export function validateEvaluateRequest(req: EvaluateRequest): EvaluateInput {
  return {
    checkpoint: requireKey(req.checkpoint, 'checkpoint'),
    dataset: requireKey(req.dataset, 'dataset', MAX_PREFIX_BYTES),
    split: req.split ? requireId(req.split, 'split') : 'test',
    batchSize: resolveOption(EVALUATION_OPTIONS.batchSize, req.batchSize, 'batch_size'),
    threshold: resolveOption(EVALUATION_OPTIONS.threshold, req.threshold, 'threshold'),
    predictionsPrefix: req.predictionsPrefix ? requireKey(req.predictionsPrefix, 'predictions_prefix', MAX_PREFIX_BYTES) : '',
  };
}

const EVALUATORS: Record<Task, TaskEvaluator> = {
  classification: classificationEvaluator,
  detection: detectionEvaluator,
  segmentation: segmentationEvaluator,
};

/**
 * Scores a checkpoint on a labeled split with its dataset's task: top-1, per-class accuracy, confusion
 * and the confident predictions' accuracy (classification); COCO box AP (detection); mIoU
 * (segmentation). Detection and segmentation can write their predictions too (predictionsPrefix).
 */
export async function evaluateCheckpoint(deps: EvaluatorDeps, input: EvaluateInput): Promise<EvaluateResponse> {
  const manifest = await loadManifest(deps.store, input.dataset);
  const split = splitOf(manifest, input.split);
  if (!split.labeled) throw new InputError('split', `split ${input.split} has no labels to evaluate against`);
  const evaluator = EVALUATORS[taskOf(manifest)];
  evaluator.checkInput?.(input);
  const { model, sha256 } = await deps.models.get(input.checkpoint);
  evaluator.checkModel?.(model, manifest);
  if (taskOf(manifest) === 'classification') assertCheckpointFitsDataset(model, input.checkpoint, manifest, input.dataset);
  const records = await readSplit(deps.store, manifest, input.split);
  const response: EvaluateResponse = {
    top1: 0, perClassAccuracy: [], confusion: [], numClasses: manifest.classNames.length, count: records.length, classNames: manifest.classNames,
    checkpointSha256: sha256, confidentCount: 0, confidentAccuracy: 0, backend: deps.backend,
  };
  return evaluator.evaluate({ deps, input, manifest, model, records, response });
}
