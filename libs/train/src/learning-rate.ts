/** Linear warmup, then cosine decay to zero at `totalSteps` (the paper's schedule). */
export function cosineLearningRate(step: number, base: number, totalSteps: number, warmupSteps = 0): number {
  if (warmupSteps > 0 && step < warmupSteps) return (base * (step + 1)) / warmupSteps;
  const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
  return 0.5 * base * (1 + Math.cos(Math.PI * progress));
}
