/**
 * Counts of confidences in `bins` equal-width bins over [0, 1]; bin i holds [i/bins, (i+1)/bins),
 * and 1.0 goes into the last bin. Values outside [0, 1] (or NaN) are an error.
 */
export function confidenceHistogram(maxProbs: ArrayLike<number>, bins = 10): number[] {
  if (!Number.isInteger(bins) || bins <= 0) throw new Error(`bins must be a positive integer, got ${bins}`);
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < maxProbs.length; i++) {
    const p = maxProbs[i];
    if (!(p >= 0 && p <= 1)) throw new Error(`maxProbs[${i}] = ${p} is outside [0, 1]`);
    counts[Math.min(bins - 1, Math.floor(p * bins))]++;
  }
  return counts;
}
