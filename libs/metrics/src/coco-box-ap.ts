// COCO box AP / AR as pycocotools' COCOeval (iouType 'bbox') computes them: evaluate() per image and
// category (coco-match.ts), accumulate() over images, summarize()'s twelve numbers. Kept to the
// reference's arithmetic (numpy's linspace thresholds, eps in the precision, searchsorted 'left')
// so the numbers compare with published COCO results.
import type { XywhBox } from './box-iou.js';
import { matchImage, stableOrder, type ImageMatch } from './coco-match.js';

export interface CocoGroundTruth {
  imageId: number;
  categoryId: number;
  /** [x, y, width, height] in pixels. */
  bbox: XywhBox;
  /** COCO's annotation area (the segment's); defaults to the box's width x height. */
  area?: number;
  isCrowd?: boolean;
}

/** One entry of a COCO results file. */
export interface CocoDetection {
  imageId: number;
  categoryId: number;
  bbox: XywhBox;
  score: number;
}

export interface CocoEvalInput {
  groundTruth: CocoGroundTruth[];
  detections: CocoDetection[];
  /** The evaluated images (COCO: every image of the annotation file, with or without objects). Default: those named in groundTruth or detections. */
  imageIds?: number[];
  /** Default: those named in groundTruth or detections (a category without ground truth is left out of every mean anyway). */
  categoryIds?: number[];
}

export interface CocoBoxMetrics {
  /** AP@[.50:.05:.95], all areas, 100 detections. -1 where no category has ground truth (COCO's convention). */
  ap: number;
  ap50: number;
  ap75: number;
  apSmall: number;
  apMedium: number;
  apLarge: number;
  ar1: number;
  ar10: number;
  ar100: number;
  arSmall: number;
  arMedium: number;
  arLarge: number;
  /** AP@[.50:.05:.95] (all areas, 100 detections) per category; -1 for a category without (non-crowd) ground truth. */
  perCategoryAp: { categoryId: number; ap: number }[];
}

// np.linspace(.5, .95, 10) and np.linspace(0, 1, 101), value for value: i * step + start, last = stop.
function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  return Array.from({ length: num }, (_, i) => (i === num - 1 ? stop : i * step + start));
}
export const IOU_THRESHOLDS: readonly number[] = linspace(0.5, 0.95, 10);
export const RECALL_THRESHOLDS: readonly number[] = linspace(0, 1, 101);
export const MAX_DETS = [1, 10, 100] as const;
export const AREA_RANGES = {
  all: [0, 1e5 ** 2],
  small: [0, 32 ** 2],
  medium: [32 ** 2, 96 ** 2],
  large: [96 ** 2, 1e5 ** 2],
} as const satisfies Record<string, readonly [number, number]>;
type AreaName = keyof typeof AREA_RANGES;

const EPS = 2.220446049250313e-16; // np.spacing(1)

/** precision[t][r] (or null: no non-ignored gt) and recall[t] for one category, area range and detection cap. */
function accumulate(matches: ImageMatch[], maxDet: number): { precision: number[][]; recall: number[] } | null {
  if (matches.length === 0) return null;
  const scores: number[] = [];
  const matchedCols: boolean[][] = IOU_THRESHOLDS.map(() => []);
  const ignoreCols: boolean[][] = IOU_THRESHOLDS.map(() => []);
  let npig = 0;
  for (const e of matches) {
    const n = Math.min(maxDet, e.dtScores.length);
    scores.push(...e.dtScores.slice(0, n));
    IOU_THRESHOLDS.forEach((_, t) => {
      matchedCols[t].push(...e.dtMatched[t].slice(0, n));
      ignoreCols[t].push(...e.dtIgnore[t].slice(0, n));
    });
    npig += e.gtIgnore.filter((ig) => !ig).length;
  }
  if (npig === 0) return null;
  // All images' detections by score; ties keep image order, then score order within an image.
  const order = stableOrder(scores.map((s) => -s));
  const precision: number[][] = [];
  const recall: number[] = [];
  IOU_THRESHOLDS.forEach((_, t) => {
    let tp = 0;
    let fp = 0;
    const rc: number[] = [];
    const pr: number[] = [];
    for (const i of order) {
      if (!ignoreCols[t][i]) {
        if (matchedCols[t][i]) tp++;
        else fp++;
      }
      rc.push(tp / npig);
      pr.push(tp / (fp + tp + EPS));
    }
    recall.push(rc.length > 0 ? rc[rc.length - 1] : 0);
    // The precision envelope: the best precision at this recall or any higher one.
    for (let i = pr.length - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
    const q = RECALL_THRESHOLDS.map(() => 0);
    let i = 0;
    for (let r = 0; r < RECALL_THRESHOLDS.length; r++) {
      while (i < rc.length && rc[i] < RECALL_THRESHOLDS[r]) i++; // searchsorted(rc, r, 'left')
      if (i === rc.length) break; // recall never reached: precision 0 from here on
      q[r] = pr[i];
    }
    precision.push(q);
  });
  return { precision, recall };
}

function mean(values: number[]): number {
  return values.length === 0 ? -1 : values.reduce((a, b) => a + b, 0) / values.length;
}

export function cocoBoxEval(input: CocoEvalInput): CocoBoxMetrics {
  const uniqueSorted = (ids: number[]) => [...new Set(ids)].sort((a, b) => a - b);
  const imageIds = uniqueSorted(input.imageIds ?? [...input.groundTruth.map((g) => g.imageId), ...input.detections.map((d) => d.imageId)]);
  const categoryIds = uniqueSorted(input.categoryIds ?? [...input.groundTruth.map((g) => g.categoryId), ...input.detections.map((d) => d.categoryId)]);
  const known = new Set(imageIds);
  for (const d of input.detections) {
    // pycocotools' loadRes refuses these too: a detection on an image outside the evaluation.
    if (!known.has(d.imageId)) throw new Error(`detection on image ${d.imageId}, which is not among the evaluated images`);
  }
  const cell = (img: number, cat: number) => `${img}/${cat}`;
  const gts = new Map<string, CocoGroundTruth[]>();
  const dts = new Map<string, CocoDetection[]>();
  const add = <T>(map: Map<string, T[]>, k: string, v: T) => (map.get(k) ?? map.set(k, []).get(k)!).push(v);
  for (const g of input.groundTruth) add(gts, cell(g.imageId, g.categoryId), g);
  for (const d of input.detections) add(dts, cell(d.imageId, d.categoryId), d);

  const maxDet = MAX_DETS[MAX_DETS.length - 1];
  // results[area][maxDet index][category] = accumulated curves, or null for a category without gt.
  const results = {} as Record<AreaName, ReturnType<typeof accumulate>[][]>;
  for (const area of Object.keys(AREA_RANGES) as AreaName[]) {
    const perCat = categoryIds.map((cat) =>
      imageIds
        .map((img) => {
          const g = (gts.get(cell(img, cat)) ?? []).map((x) => ({ bbox: x.bbox, area: x.area ?? x.bbox[2] * x.bbox[3], isCrowd: x.isCrowd === true }));
          return matchImage(g, dts.get(cell(img, cat)) ?? [], IOU_THRESHOLDS, AREA_RANGES[area], maxDet);
        })
        .filter((m): m is ImageMatch => m !== null),
    );
    results[area] = MAX_DETS.map((m) => perCat.map((matches) => accumulate(matches, m)));
  }

  // summarize(): the mean over every (threshold, recall point, category) that has ground truth.
  const ap = (area: AreaName, t?: number) =>
    mean(results[area][2].flatMap((c) => (c === null ? [] : (t === undefined ? c.precision : [c.precision[t]]).flat())));
  const ar = (area: AreaName, m: number) => mean(results[area][m].flatMap((c) => (c === null ? [] : c.recall)));
  return {
    ap: ap('all'),
    ap50: ap('all', 0),
    ap75: ap('all', 5),
    apSmall: ap('small'),
    apMedium: ap('medium'),
    apLarge: ap('large'),
    ar1: ar('all', 0),
    ar10: ar('all', 1),
    ar100: ar('all', 2),
    arSmall: ar('small', 2),
    arMedium: ar('medium', 2),
    arLarge: ar('large', 2),
    perCategoryAp: categoryIds.map((categoryId, k) => {
      const c = results.all[2][k];
      return { categoryId, ap: c === null ? -1 : mean(c.precision.flat()) };
    }),
  };
}
