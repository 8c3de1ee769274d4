import type { Box } from '@selftrain/augment';
import { InputError } from '@selftrain/errors';
import {
  cocoBoxEval, cocoResultsJson, cornerToXywh, toCocoDetections,
  type CocoBoxMetrics, type CocoDetection, type CocoGroundTruth, type CocoResultEntry, type ScoredBox,
} from '@selftrain/metrics';
import type { DetectFn } from './dense-predictors';
import { forEachImageBatch, type SizedImage } from './image-batches';

/** What scoring needs of a labeled detection record (libs/data's ImageRecord fits). */
export interface DetectionRecord extends SizedImage {
  key: string;
  /** The ground truth: normalized corner boxes, 1-based labels; crowd boxes ignored. */
  objects?: readonly Box[];
  /** The source's image id (COCO ingest), used as the COCO image_id when every record has a distinct integer one. */
  sourceId?: string;
}

export interface DetectionEvalOptions {
  /** Classes including the background (the manifest's class_names); box labels are 1..numClasses-1. */
  numClasses: number;
  /** The source's category id of each label (the manifest's category_ids); empty = the label itself. */
  categoryIds?: readonly number[];
  classNames?: readonly string[];
  /** Detections per image that count, the highest scores first (default 100, COCO's). */
  maxDetections?: number;
}

/** COCO box AP/AR of a detector on a split, with per-class AP. */
export interface DetectionEvaluation extends Omit<CocoBoxMetrics, 'perCategoryAp'> {
  images: number;
  /** Non-crowd ground-truth boxes (what recall is counted over). */
  groundTruthBoxes: number;
  /** Crowd boxes: matched last, never counted as hits or misses. */
  crowdBoxes: number;
  /** Detections evaluated (after the per-image cap). */
  detections: number;
  /** Per foreground label: AP@[.50:.95]; -1 for a class without (non-crowd) ground truth. */
  perClass: { label: number; categoryId: number; className: string; ap: number }[];
}

export interface DetectionScore {
  evaluation: DetectionEvaluation;
  /** The detections as a COCO results file (pixel [x, y, w, h], the source's category ids). */
  results: CocoResultEntry[];
  /** The COCO image_id given to each record, in record order. */
  imageIds: number[];
}

/**
 * COCO image ids for records: the source's ids when every record has a distinct integer source_id
 * (COCO ingest), so results files line up with the user's annotation file; otherwise 1..N in order.
 */
export function cocoImageIds(records: readonly Pick<DetectionRecord, 'sourceId'>[]): number[] {
  const ids = records.map((r) => (r.sourceId !== undefined && /^\d{1,15}$/.test(r.sourceId) ? Number(r.sourceId) : NaN));
  const usable = ids.every((id) => !Number.isNaN(id)) && new Set(ids).size === ids.length;
  return usable ? ids : records.map((_, i) => i + 1);
}

/**
 * Scores per-image detections against the records' boxes with COCO box AP (pycocotools' arithmetic:
 * IoU .50:.05:.95, 101 recall points, area ranges by the annotation's area, crowd boxes ignored) and
 * exports them as COCO results JSON.
 */
export function scoreDetections(records: readonly DetectionRecord[], detections: readonly (readonly ScoredBox[])[], o: DetectionEvalOptions): DetectionScore {
  if (records.length !== detections.length) throw new Error(`${records.length} records but detections for ${detections.length} images`);
  const maxDetections = o.maxDetections ?? 100;
  const categoryIds = o.categoryIds ?? [];
  if (categoryIds.length > 0 && categoryIds.length !== o.numClasses) {
    throw new InputError('category_ids', `${categoryIds.length} category ids for ${o.numClasses} classes`);
  }
  const categoryOf = (label: number) => (categoryIds.length > 0 ? categoryIds[label] : label);
  const imageIds = cocoImageIds(records);
  const groundTruth: CocoGroundTruth[] = [];
  const cocoDetections: CocoDetection[] = [];
  let crowdBoxes = 0;
  records.forEach((r, i) => {
    if (r.objects === undefined) throw new InputError('split', `record ${r.key} has no boxes: not a labeled detection record`);
    for (const b of r.objects) {
      if (!(Number.isInteger(b.label) && b.label >= 1 && b.label < o.numClasses)) {
        throw new InputError('split', `record ${r.key} has a box of label ${b.label}; labels are 1..${o.numClasses - 1}`);
      }
      const bbox = cornerToXywh(b, r.width, r.height);
      groundTruth.push({ imageId: imageIds[i], categoryId: categoryOf(b.label), bbox, area: b.area ?? bbox[2] * bbox[3], isCrowd: b.isCrowd === true });
      if (b.isCrowd) crowdBoxes += 1;
    }
    for (const d of detections[i]) {
      if (!(Number.isInteger(d.label) && d.label >= 1 && d.label < o.numClasses)) {
        throw new Error(`detection on ${r.key} has label ${d.label}; labels are 1..${o.numClasses - 1}`);
      }
    }
    const top = [...detections[i]].sort((a, b) => b.score - a.score).slice(0, maxDetections);
    cocoDetections.push(...toCocoDetections(imageIds[i], top, r.width, r.height, categoryIds));
  });
  const labels = Array.from({ length: Math.max(0, o.numClasses - 1) }, (_, i) => i + 1);
  const metrics = cocoBoxEval({ groundTruth, detections: cocoDetections, imageIds, categoryIds: labels.map(categoryOf) });
  const apOf = new Map(metrics.perCategoryAp.map((c) => [c.categoryId, c.ap]));
  const { perCategoryAp: _unused, ...summary } = metrics;
  return {
    evaluation: {
      ...summary,
      images: records.length,
      groundTruthBoxes: groundTruth.length - crowdBoxes,
      crowdBoxes,
      detections: cocoDetections.length,
      perClass: labels.map((label) => ({ label, categoryId: categoryOf(label), className: o.classNames?.[label] ?? String(label), ap: apOf.get(categoryOf(label)) ?? -1 })),
    },
    results: cocoResultsJson(cocoDetections),
    imageIds,
  };
}

/** Runs a detector over a split's records in batches and scores it (see scoreDetections). */
export async function evaluateDetector(
  records: readonly DetectionRecord[], detectFn: DetectFn, o: DetectionEvalOptions & { batchSize?: number },
): Promise<DetectionScore> {
  const detections: ScoredBox[][] = [];
  await forEachImageBatch(records, o.batchSize ?? 16, async (images, _start, count) => {
    const out = await detectFn(images);
    if (out.length !== count) throw new Error(`the detector returned ${out.length} images' detections for a batch of ${count}`);
    detections.push(...out);
  });
  return scoreDetections(records, detections, o);
}
