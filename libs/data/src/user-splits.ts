// Which split each labeled image goes to: the user's own lists (COCO train/val files, VOC's
// ImageSets) or a seeded random draw, as the Fashion-MNIST ingest draws its splits.
import { InputError } from '@selftrain/errors';
import { mulberry32, shuffleInPlace } from '@selftrain/random';

export const LABELED_SPLITS = ['labeled', 'val', 'test'] as const;
export type LabeledSplit = (typeof LABELED_SPLITS)[number];

export interface SplitChoice {
  /** Split name -> image names (COCO file_name, VOC basename). Every labeled image must be listed exactly once. */
  splits?: Partial<Record<LabeledSplit, string[]>>;
  /** Random split fractions when `splits` is absent (defaults 0.1 and 0.2; the rest is labeled). */
  valFraction?: number;
  testFraction?: number;
  seed?: number;
}

export function assignSplits(names: string[], choice: SplitChoice): Map<string, LabeledSplit> {
  const out = new Map<string, LabeledSplit>();
  if (choice.splits) {
    for (const [split, list] of Object.entries(choice.splits)) {
      if (!(LABELED_SPLITS as readonly string[]).includes(split)) throw new InputError(`splits.${split}`, `unknown split; use ${LABELED_SPLITS.join(', ')}`);
      for (const name of list ?? []) {
        if (out.has(name)) throw new InputError(`splits.${split}`, `image ${name} is also in split ${out.get(name)}`);
        out.set(name, split as LabeledSplit);
      }
    }
    const known = new Set(names);
    for (const name of out.keys()) if (!known.has(name)) throw new InputError('splits', `image ${name} is listed but not in the dataset`);
    const missing = names.filter((n) => !out.has(n));
    if (missing.length > 0) throw new InputError('splits', `${missing.length} image(s) in no split, e.g. ${missing.slice(0, 3).join(', ')}`);
    return out;
  }
  const val = choice.valFraction ?? 0.1;
  const test = choice.testFraction ?? 0.2;
  if (!(val >= 0 && test >= 0 && val + test < 1)) throw new InputError('valFraction', `need valFraction, testFraction >= 0 with a sum below 1, got ${val} and ${test}`);
  const order = shuffleInPlace([...names].sort(), mulberry32(choice.seed ?? 0));
  const nTest = Math.round(order.length * test);
  const nVal = Math.round(order.length * val);
  order.forEach((name, i) => out.set(name, i < nTest ? 'test' : i < nTest + nVal ? 'val' : 'labeled'));
  return out;
}
