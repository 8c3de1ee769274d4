/** A seeded Fisher-Yates permutation of 0..n-1 (draws n-1 numbers from `rng`). */
export function shuffled(n: number, rng: { int(n: number): number }): Int32Array {
  const a = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
