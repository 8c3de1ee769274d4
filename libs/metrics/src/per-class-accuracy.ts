/** Examples per true class: the row sums of a confusion matrix. */
export function classSupport(confusion: readonly (readonly number[])[]): number[] {
  return confusion.map((row) => row.reduce((s, v) => s + v, 0));
}

/**
 * Per-class accuracy (recall): diagonal / row sum. A class with no examples gets 0, never NaN; tell it
 * apart from "all wrong" with classSupport (classificationReport lists such classes in emptyClasses).
 */
export function perClassAccuracy(confusion: readonly (readonly number[])[]): number[] {
  const support = classSupport(confusion);
  return confusion.map((row, k) => (support[k] > 0 ? row[k] / support[k] : 0));
}
