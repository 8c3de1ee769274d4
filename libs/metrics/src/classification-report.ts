import { confusionMatrix } from './confusion-matrix.js';
import { classSupport, perClassAccuracy } from './per-class-accuracy.js';
import { top1 } from './top1.js';

export interface ClassificationReport {
  top1: number;
  /** 0 for classes with no examples; see emptyClasses. */
  perClassAccuracy: number[];
  /** Rows = true class, columns = predicted class. */
  confusion: number[][];
  /** Number of examples. */
  count: number;
  /** Examples per true class. */
  support: number[];
  /** Ids of classes with no examples, whose perClassAccuracy entry is a placeholder 0. */
  emptyClasses: number[];
  /** The given names, or the class ids as strings. */
  classNames: string[];
}

export function classificationReport(
  labels: ArrayLike<number>,
  predictions: ArrayLike<number>,
  numClasses: number,
  classNames?: readonly string[],
): ClassificationReport {
  if (classNames && classNames.length !== numClasses) {
    throw new Error(`classNames has ${classNames.length} names but numClasses is ${numClasses}`);
  }
  const confusion = confusionMatrix(labels, predictions, numClasses);
  const support = classSupport(confusion);
  return {
    top1: top1(labels, predictions),
    perClassAccuracy: perClassAccuracy(confusion),
    confusion,
    count: labels.length,
    support,
    emptyClasses: support.flatMap((n, k) => (n === 0 ? [k] : [])),
    classNames: classNames ? [...classNames] : Array.from({ length: numClasses }, (_, k) => String(k)),
  };
}
