import { assertClassIds, assertNumClasses, assertSameLength } from './validate-labels.js';

/** counts[t][p] = number of examples of true class t predicted as p (rows = true class). */
export function confusionMatrix(
  labels: ArrayLike<number>,
  predictions: ArrayLike<number>,
  numClasses: number,
): number[][] {
  assertNumClasses(numClasses);
  assertSameLength(labels, predictions);
  assertClassIds(labels, numClasses, 'labels');
  assertClassIds(predictions, numClasses, 'predictions');
  const counts = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < labels.length; i++) counts[labels[i]][predictions[i]]++;
  return counts;
}
