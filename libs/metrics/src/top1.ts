import { assertSameLength } from './validate-labels.js';

/** Fraction of predictions equal to their label; 0 for empty input (never NaN). */
export function top1(labels: ArrayLike<number>, predictions: ArrayLike<number>): number {
  assertSameLength(labels, predictions);
  if (labels.length === 0) return 0;
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === predictions[i]) correct++;
  return correct / labels.length;
}
