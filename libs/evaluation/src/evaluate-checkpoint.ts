import { assertCheckpointFitsDataset, inputShapeOf } from '@selftrain/checkpoints';
import { loadManifest, readSplit, splitOf, taskOf, type ImageRecord, type Task } from '@selftrain/data';
import { InputError, MAX_PREFIX_BYTES, requireId, requireKey } from '@selftrain/errors';
import { EVALUATION_OPTIONS, resolveOption } from '@selftrain/options';
import { checkTeacherModel, ONNX_BACKEND, mapTeacherClasses, TeacherModelCache, type CheckedTeacherModel } from '@selftrain/export';
import { evaluateDetector, evaluateSegmenter } from '@selftrain/train';
import type { DatasetManifest, EvaluateRequest, EvaluateResponse } from '@selftrain/proto';
import { classificationEvaluator, scoreClassProbabilities } from './evaluate-classification';
import { detectionEvalOptionsFromManifest, detectionEvaluator, detectionMetrics } from './evaluate-detections';
import { segmentationEvalOptionsFromManifest, segmentationEvaluator, segmentationMetrics } from './evaluate-segmentation';
import type { EvaluateInput, EvaluatorDeps, TaskEvaluator } from './task-evaluator';

export function validateEvaluateRequest(req: EvaluateRequest): EvaluateInput {
  const teacherModel = req.teacherModel ? checkTeacherModel(req.teacherModel) : undefined;
  if (teacherModel && req.checkpoint) throw new InputError('checkpoint', 'give checkpoint or teacher_model, not both');
  return {
    checkpoint: teacherModel ? '' : requireKey(req.checkpoint, 'checkpoint'),
    teacherModel,
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
 * In place of a checkpoint, a user's model (teacher_model: ONNX on onnxruntime-node, or TF.js). A
 * classification checkpoint runs on onnxruntime too when deps.checkpointSessions is given (the default
 * on CPU: classificationEngine), else on TF.js.
 */
export async function evaluateCheckpoint(deps: EvaluatorDeps, input: EvaluateInput): Promise<EvaluateResponse> {
  const manifest = await loadManifest(deps.store, input.dataset);
  const split = splitOf(manifest, input.split);
  if (!split.labeled) throw new InputError('split', `split ${input.split} has no labels to evaluate against`);
  const evaluator = EVALUATORS[taskOf(manifest)];
  evaluator.checkInput?.(input);
  if (input.teacherModel) return evaluateTeacherModel(deps, input, input.teacherModel, manifest);
  const { model, sha256 } = await deps.models.get(input.checkpoint);
  evaluator.checkModel?.(model, manifest);
  const classification = taskOf(manifest) === 'classification';
  if (classification) assertCheckpointFitsDataset(model, input.checkpoint, manifest, input.dataset);
  const onnx = classification ? await deps.checkpointSessions?.get(input.checkpoint, sha256) : undefined;
  const records = await readSplit(deps.store, manifest, input.split);
  const response: EvaluateResponse = {
    top1: 0, perClassAccuracy: [], confusion: [], numClasses: manifest.classNames.length, count: records.length, classNames: manifest.classNames,
    checkpointSha256: sha256, confidentCount: 0, confidentAccuracy: 0, backend: onnx ? ONNX_BACKEND : deps.backend,
  };
  if (onnx) {
    const probs = await onnx.probabilities(records.map((r) => r.image), inputShapeOf(manifest), { batchSize: input.batchSize });
    return scoreClassProbabilities(probs, records, manifest, input.threshold, response);
  }
  return evaluator.evaluate({ deps, input, manifest, model, records, response });
}

/**
 * A user's model (teacher_model) on the split, scored by the same figures as a checkpoint; the response's
 * checkpoint_sha256 is its model.sha256 (the ONNX file's, or the TF.js model's digest); its classes mapped by name.
 */
async function evaluateTeacherModel(deps: EvaluatorDeps, input: EvaluateInput, tm: CheckedTeacherModel, manifest: DatasetManifest): Promise<EvaluateResponse> {
  const task = taskOf(manifest);
  if (task !== 'classification') return evaluateDenseTeacherModel(deps, input, tm, manifest, task);
  const classMap = mapTeacherClasses(tm.classNames, manifest.classNames);
  // No shared cache (a one-off caller): the session lives for this call only.
  const owned = deps.teacherModels ? undefined : new TeacherModelCache(deps.store, 1);
  let probs: Float32Array;
  let records: ImageRecord[];
  let engine: string | undefined;
  try {
    const model = await (deps.teacherModels ?? owned!).get(tm);
    engine = model.engine;
    records = await readSplit(deps.store, manifest, input.split);
    probs = await model.classProbabilities(records, { batchSize: input.batchSize, classMap });
  } finally {
    await owned?.close();
  }
  const response: EvaluateResponse = {
    top1: 0, perClassAccuracy: [], confusion: [], numClasses: manifest.classNames.length, count: records.length, classNames: manifest.classNames,
    checkpointSha256: tm.model.sha256, confidentCount: 0, confidentAccuracy: 0, backend: engine ?? deps.backend,
  };
  return scoreClassProbabilities(probs, records, manifest, input.threshold, response);
}

/** A user's detector (COCO box AP) or segmenter (mIoU) on the split, scored as a checkpoint of the task is. */
async function evaluateDenseTeacherModel(deps: EvaluatorDeps, input: EvaluateInput, tm: CheckedTeacherModel, manifest: DatasetManifest, task: 'detection' | 'segmentation'): Promise<EvaluateResponse> {
  const owned = deps.teacherModels ? undefined : new TeacherModelCache(deps.store, 1);
  try {
    const teacher = await (deps.teacherModels ?? owned!).getDense(tm, task);
    const records = await readSplit(deps.store, manifest, input.split);
    const response: EvaluateResponse = {
      top1: 0, perClassAccuracy: [], confusion: [], numClasses: manifest.classNames.length, count: records.length, classNames: manifest.classNames,
      checkpointSha256: tm.model.sha256, confidentCount: 0, confidentAccuracy: 0, backend: ONNX_BACKEND,
    };
    if (task === 'detection') {
      const det = await evaluateDetector(records, teacher.detector(manifest.classNames), { ...detectionEvalOptionsFromManifest(manifest), batchSize: input.batchSize });
      const predictions = input.predictionsPrefix ? await deps.store.putJson(`${input.predictionsPrefix}/detections.json`, det.results) : undefined;
      return { ...response, detection: detectionMetrics(det.evaluation), ...(predictions ? { predictions } : {}) };
    }
    const seg = await evaluateSegmenter(records, teacher.segmenter(manifest.classNames), { ...segmentationEvalOptionsFromManifest(manifest), batchSize: input.batchSize });
    return { ...response, segmentation: segmentationMetrics(seg.evaluation) };
  } finally {
    await owned?.close();
  }
}
