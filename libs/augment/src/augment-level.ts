// The paper's augmentation strengths (Zoph et al. 2020, "Rethinking Pre-training and Self-training").

export const AUGMENT_LEVELS = ['none', 's1', 's2', 's3', 's4'] as const;
export type AugmentLevel = (typeof AUGMENT_LEVELS)[number];

/** Case-insensitive; also accepts the paper's spelling "Augment-S1". */
export function parseAugmentLevel(s: string): AugmentLevel {
  const v = String(s).trim().toLowerCase().replace(/^augment-/, '');
  if ((AUGMENT_LEVELS as readonly string[]).includes(v)) return v as AugmentLevel;
  throw new Error(`unknown augmentation level ${JSON.stringify(s)}; expected one of ${AUGMENT_LEVELS.join(', ')}`);
}
