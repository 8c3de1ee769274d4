/**
 * One step of the linear congruential sequence that hands a model's layers their initializer seeds
 * (SeedSequence in @selftrain/models). Not for new code (use createRng): every checkpoint's initial weights,
 * and so every training figure in the tests and the README, follow from this exact sequence, float
 * rounding of the product included.
 */
export function nextLcgSeed(state: number): number {
  return (state * 1103515245 + 12345) % 2147483647;
}
