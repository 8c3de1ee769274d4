// Which split each file of an image ingest goes to, decided from the file lists alone (before any decode):
// per class, a seeded shuffle keeps `labelsPerClass` as labeled and `valPerClass` for validation; the rest of
// the labeled folder joins the unlabeled pool with its label hidden (kept for pseudo-label accuracy), as
// the Fashion-MNIST ingest draws its splits.
import { InputError } from '@selftrain/errors';
import { mulberry32, shuffleInPlace } from '@selftrain/random';
import type { FileTable } from './file-table';

/**
 * A split's files as numbers, 4 bytes each: a file's ref is its root's `base` plus its index in the root's
 * FileTable (the ingest numbers its roots one after another).
 */
export type FileRefs = Uint32Array;

export interface SplitPlan {
  labeled: FileRefs;
  val: FileRefs;
  test: FileRefs;
  /** The rest of the labeled folder (label hidden) and the unlabeled sources, shuffled together. */
  unlabeled: FileRefs;
  /** Images per class kept as labeled; 0 when every image not in val is kept. */
  labelsPerClass: number;
  valPerClass: number;
}

/** A root's place in the numbering: refs base .. base + count - 1. */
export interface RefRange {
  base: number;
  count: number;
}

/** Validation images per class when not given: Fashion-MNIST's 50, but at most a tenth of the smallest class, so small folders keep most images for training. */
export const DEFAULT_VAL_PER_CLASS = 50;

export function defaultValPerClass(smallestClass: number): number {
  return Math.min(DEFAULT_VAL_PER_CLASS, Math.floor(smallestClass / 10));
}

export function planSplits(
  labeled: { base: number; files: FileTable },
  classNames: string[],
  test: RefRange | undefined,
  unlabeled: RefRange[],
  o: { labelsPerClass?: number; valPerClass?: number; seed: number },
): SplitPlan {
  const files = labeled.files;
  const sizes = classNames.map(() => 0);
  for (let i = 0; i < files.length; i++) sizes[files.label(i)]++;
  const byClass = sizes.map((n) => new Uint32Array(n));
  const filled = classNames.map(() => 0);
  for (let i = 0; i < files.length; i++) {
    const c = files.label(i);
    byClass[c][filled[c]++] = labeled.base + i;
  }
  const smallest = Math.min(...sizes);
  const empty = sizes.findIndex((n) => n === 0);
  if (empty >= 0) throw new InputError('labeledDir', `class ${classNames[empty]} has no usable images`);
  const valPerClass = o.valPerClass ?? defaultValPerClass(smallest);
  sizes.forEach((n, c) => {
    const need = (o.labelsPerClass ?? 1) + valPerClass;
    if (n < need) {
      throw new InputError(
        o.labelsPerClass === undefined ? 'valPerClass' : 'labelsPerClass',
        `class ${classNames[c]} has ${n} usable images, fewer than ${o.labelsPerClass === undefined ? `valPerClass (${valPerClass}) + 1` : `labelsPerClass + valPerClass = ${need}`}`,
      );
    }
  });
  const keepOf = (n: number) => (o.labelsPerClass === undefined ? n : valPerClass + o.labelsPerClass);
  const hidden = sizes.reduce((sum, n) => sum + n - keepOf(n), 0);
  const plan: SplitPlan = {
    labeled: new Uint32Array(sizes.reduce((sum, n) => sum + keepOf(n) - valPerClass, 0)),
    val: new Uint32Array(valPerClass * sizes.length),
    test: new Uint32Array(test?.count ?? 0),
    unlabeled: new Uint32Array(hidden + unlabeled.reduce((sum, r) => sum + r.count, 0)),
    labelsPerClass: o.labelsPerClass ?? 0,
    valPerClass,
  };
  const rand = mulberry32(o.seed);
  let l = 0;
  let v = 0;
  let u = 0;
  for (const refs of byClass) {
    shuffle(refs, rand);
    const keep = keepOf(refs.length);
    refs.forEach((ref, i) => {
      if (i < valPerClass) plan.val[v++] = ref;
      else if (i < keep) plan.labeled[l++] = ref;
      else plan.unlabeled[u++] = ref;
    });
  }
  for (let i = 0; i < plan.test.length; i++) plan.test[i] = test!.base + i;
  for (const r of unlabeled) for (let i = 0; i < r.count; i++) plan.unlabeled[u++] = r.base + i;
  // Classes mixed within each split, so any prefix of a split's shards is a fair sample.
  shuffle(plan.labeled, rand);
  shuffle(plan.val, rand);
  shuffle(plan.unlabeled, rand);
  return plan;
}

/** shuffleInPlace on refs: the same draws, so the same order, as on an array of the same length. */
function shuffle(refs: FileRefs, rand: () => number): void {
  shuffleInPlace(refs as unknown as number[], rand);
}
