// Which split each file of an image ingest goes to, decided from the file lists alone (before any decode):
// per class, a seeded shuffle keeps `labelsPerClass` as labeled and `valPerClass` for validation; the rest of
// the labeled folder joins the unlabeled pool with its label hidden (kept for pseudo-label accuracy), as
// the Fashion-MNIST ingest draws its splits.
import { InputError } from '@selftrain/errors';
import { mulberry32, shuffleInPlace } from '@selftrain/random';

/** One file as it travels through ingest: which root it is in, its path there, its class (-1: none). */
export interface PlannedFile {
  root: number;
  rel: string;
  label: number;
}

export interface SplitPlan {
  labeled: PlannedFile[];
  val: PlannedFile[];
  test: PlannedFile[];
  /** The rest of the labeled folder (label hidden) and the unlabeled sources, shuffled together. */
  unlabeled: PlannedFile[];
  /** Images per class kept as labeled; 0 when every image not in val is kept. */
  labelsPerClass: number;
  valPerClass: number;
}

/** Validation images per class when not given: Fashion-MNIST's 50, but at most a tenth of the smallest class, so small folders keep most images for training. */
export const DEFAULT_VAL_PER_CLASS = 50;

export function defaultValPerClass(smallestClass: number): number {
  return Math.min(DEFAULT_VAL_PER_CLASS, Math.floor(smallestClass / 10));
}

export function planSplits(
  labeled: PlannedFile[],
  classNames: string[],
  test: PlannedFile[],
  unlabeled: PlannedFile[],
  o: { labelsPerClass?: number; valPerClass?: number; seed: number },
): SplitPlan {
  const byClass: PlannedFile[][] = classNames.map(() => []);
  for (const f of labeled) byClass[f.label].push(f);
  const smallest = Math.min(...byClass.map((c) => c.length));
  const empty = byClass.findIndex((c) => c.length === 0);
  if (empty >= 0) throw new InputError('labeledDir', `class ${classNames[empty]} has no usable images`);
  const valPerClass = o.valPerClass ?? defaultValPerClass(smallest);
  byClass.forEach((files, c) => {
    const need = (o.labelsPerClass ?? 1) + valPerClass;
    if (files.length < need) {
      throw new InputError(
        o.labelsPerClass === undefined ? 'valPerClass' : 'labelsPerClass',
        `class ${classNames[c]} has ${files.length} usable images, fewer than ${o.labelsPerClass === undefined ? `valPerClass (${valPerClass}) + 1` : `labelsPerClass + valPerClass = ${need}`}`,
      );
    }
  });
  const rand = mulberry32(o.seed);
  const plan: SplitPlan = { labeled: [], val: [], test: [...test], unlabeled: [], labelsPerClass: 0, valPerClass };
  for (const files of byClass) {
    shuffleInPlace(files, rand);
    plan.val.push(...files.slice(0, valPerClass));
    const keep = o.labelsPerClass === undefined ? files.length : valPerClass + o.labelsPerClass;
    plan.labeled.push(...files.slice(valPerClass, keep));
    plan.unlabeled.push(...files.slice(keep));
  }
  plan.labelsPerClass = o.labelsPerClass ?? 0;
  plan.unlabeled.push(...unlabeled);
  // Classes mixed within each split, so any prefix of a split's shards is a fair sample.
  shuffleInPlace(plan.labeled, rand);
  shuffleInPlace(plan.val, rand);
  shuffleInPlace(plan.unlabeled, rand);
  return plan;
}
