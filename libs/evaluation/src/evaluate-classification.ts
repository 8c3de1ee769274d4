import { inputShapeOf } from '@selftrain/checkpoints';
import { InputError } from '@selftrain/errors';
import { argmaxRows, classificationReport } from '@selftrain/metrics';
import { predictProbabilities } from '@selftrain/train';
import type { TaskEvaluator } from './task-evaluator';

/** Top-1, per-class accuracy, confusion, and how accurate the predictions at or above `threshold` are. */
export const classificationEvaluator: TaskEvaluator = {
  checkInput(input) {
    if (input.predictionsPrefix) throw new InputError('predictions_prefix', 'applies to detection and segmentation datasets only; this dataset is classification');
  },
  async evaluate({ input, manifest, model, records, response }) {
    const numClasses = manifest.classNames.length;
    // The checkpoint's preprocessing, which evaluateCheckpoint has checked is the dataset's.
    const shape = inputShapeOf(manifest);
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
      ...response, top1: report.top1, perClassAccuracy: report.perClassAccuracy, confusion: report.confusion.flat(),
      confidentCount: confident, confidentAccuracy: confident ? confidentRight / confident : 0,
    };
  },
};
