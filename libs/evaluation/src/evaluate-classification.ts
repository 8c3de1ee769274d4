import { inputShapeOf } from '@selftrain/checkpoints';
import { InputError } from '@selftrain/errors';
import { argmaxRows, classificationReport } from '@selftrain/metrics';
import { predictProbabilities } from '@selftrain/train';
import type { ImageRecord } from '@selftrain/data';
import type { DatasetManifest, EvaluateResponse } from '@selftrain/proto';
import type { TaskEvaluator } from './task-evaluator';

/** Top-1, per-class accuracy, confusion, and how accurate the predictions at or above `threshold` are. */
export const classificationEvaluator: TaskEvaluator = {
  checkInput(input) {
    if (input.predictionsPrefix) throw new InputError('predictions_prefix', 'applies to detection and segmentation datasets only; this dataset is classification');
  },
  async evaluate({ input, manifest, model, records, response }) {
    // The checkpoint's preprocessing, which evaluateCheckpoint has checked is the dataset's.
    const probs = await predictProbabilities(model, records.map((r) => r.image), inputShapeOf(manifest), { batchSize: input.batchSize });
    return scoreClassProbabilities(probs, records, manifest, input.threshold, response);
  },
};

/**
 * The classification figures from a model's probabilities ([records, K], the dataset's class order):
 * top-1, per-class accuracy, confusion, and the accuracy of predictions at or above `threshold`. A
 * checkpoint and a user's model (teacher_model) are scored by this one function.
 */
export function scoreClassProbabilities(probs: Float32Array, records: ImageRecord[], manifest: DatasetManifest, threshold: number, response: EvaluateResponse): EvaluateResponse {
  const numClasses = manifest.classNames.length;
  const labels = records.map((r) => r.label ?? -1);
  const predictions = argmaxRows(probs, numClasses);
  const report = classificationReport(labels, predictions, numClasses, manifest.classNames);
  let confident = 0;
  let confidentRight = 0;
  predictions.forEach((p, i) => {
    if (probs[i * numClasses + p] >= threshold) {
      confident += 1;
      if (p === labels[i]) confidentRight += 1;
    }
  });
  return {
    ...response, top1: report.top1, perClassAccuracy: report.perClassAccuracy, confusion: report.confusion.flat(),
    confidentCount: confident, confidentAccuracy: confident ? confidentRight / confident : 0,
  };
}
