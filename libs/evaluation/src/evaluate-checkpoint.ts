import type { ModelCache } from '@selftrain/checkpoints';
import { loadManifest, readSplit, splitOf, taskOf } from '@selftrain/data';
import { InputError, MAX_PREFIX_BYTES, requireId, requireKey } from '@selftrain/errors';
import { argmaxRows, classificationReport } from '@selftrain/metrics';
import { EVALUATION_OPTIONS, resolveOption } from '@selftrain/options';
import type { EvaluateRequest, EvaluateResponse } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';
import { predictProbabilities } from '@selftrain/train';
import { evaluateDenseCheckpoint } from './evaluate-dense-checkpoint';

export interface EvaluatorDeps {
  store: ObjectStore;
  models: ModelCache;
  backend: string;
}

export interface EvaluateInput {
  checkpoint: string;
  dataset: string;
  split: string;
  batchSize: number;
  threshold: number;
  /** Detection / segmentation: where the predictions are written ('' = not written). */
  predictionsPrefix: string;
}

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

/**
 * Top-1, per-class accuracy, confusion, and how accurate the confident predictions are; for detection
 * and segmentation datasets, COCO box AP or mIoU (evaluateDenseCheckpoint).
 */
export async function evaluateCheckpoint(deps: EvaluatorDeps, input: EvaluateInput): Promise<EvaluateResponse> {
  const manifest = await loadManifest(deps.store, input.dataset);
  const split = splitOf(manifest, input.split);
  if (!split.labeled) throw new InputError('split', `split ${input.split} has no labels to evaluate against`);
  const task = taskOf(manifest);
  if (task !== 'classification') return evaluateDenseCheckpoint(deps, input, manifest, task);
  if (input.predictionsPrefix) throw new InputError('predictions_prefix', 'applies to detection and segmentation datasets only; this dataset is classification');
  const { model, sha256 } = await deps.models.get(input.checkpoint);
  const records = await readSplit(deps.store, manifest, input.split);
  const numClasses = manifest.classNames.length;
  const shape = { height: manifest.height, width: manifest.width, channels: manifest.channels };
  const probs = await predictProbabilities(model, records.map((r) => r.image), shape, { batchSize: input.batchSize });
  const labels = records.map((r) => r.label ?? -1);
  const predictions = argmaxRows(probs, numClasses);
  const report = classificationReport(labels, predictions, numClasses, manifest.classNames);
  let confident = 0;
  let confidentRight = 0;
  predictions.forEach((p, i) => {
    if (probs[i * numClasses + p] >= input.threshold) {
      confident += 1;
      if (p === labels[i]) confidentRight += 1;
    }
  });
  return {
    top1: report.top1, perClassAccuracy: report.perClassAccuracy, confusion: report.confusion.flat(), numClasses,
    count: records.length, classNames: manifest.classNames, checkpointSha256: sha256, confidentCount: confident,
    confidentAccuracy: confident ? confidentRight / confident : 0, backend: deps.backend,
  };
}
