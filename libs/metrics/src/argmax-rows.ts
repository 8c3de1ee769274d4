/** Index of the largest value in each row of a row-major [n, numClasses] array; ties go to the lowest index. */
export function argmaxRows(probs: ArrayLike<number>, numClasses: number): Int32Array {
  if (!Number.isInteger(numClasses) || numClasses <= 0) {
    throw new Error(`numClasses must be a positive integer, got ${numClasses}`);
  }
  if (probs.length % numClasses !== 0) {
    throw new Error(`probs has ${probs.length} values, not a multiple of numClasses ${numClasses}`);
  }
  const n = probs.length / numClasses;
  const out = new Int32Array(n);
  for (let r = 0, base = 0; r < n; r++, base += numClasses) {
    let best = 0;
    let bestValue = probs[base];
    for (let k = 1; k < numClasses; k++) {
      const v = probs[base + k];
      if (v > bestValue) {
        bestValue = v;
        best = k;
      }
    }
    out[r] = best;
  }
  return out;
}
