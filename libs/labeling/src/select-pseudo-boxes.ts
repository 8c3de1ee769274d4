import type { BoxObject, ImageRecord } from '@selftrain/data';
import { InputError } from '@selftrain/errors';
import { confidenceHistogram, type ScoredBox } from '@selftrain/metrics';
import type { ResolvedDetectionLabelingOptions } from './dense-labeling-options';

/** Detection pseudo-label statistics of one shard (or, merged, of a whole unlabeled split). */
export interface DetectionLabelStats {
  /** Input images. */
  images: number;
  /** Images with at least one kept box. */
  imagesWithBoxes: number;
  /** Images written: those with boxes, plus the empty ones when keep_empty_images is set. */
  keptImages: number;
  /** Images without a kept box that were left out (keep_empty_images false). */
  droppedImages: number;
  /** Kept pseudo boxes. */
  boxes: number;
  /** Detections considered (the detector's output after NMS). */
  candidates: number;
  /** boxes / images: the teacher's boxes per unlabeled image. */
  boxesPerImage: number;
  /** Boxes per image of the human-labeled split, when one was given (null otherwise), to compare with. */
  humanBoxesPerImage: number | null;
  /** Kept boxes per class, indexed by label (index 0, the background, stays 0). */
  keptPerClass: number[];
  /** Detections per class that scored under the threshold. */
  droppedPerClass: number[];
  /** Scores of every candidate, 10 bins over [0, 1]: shows how much sits just under the threshold. */
  scoreHistogram: number[];
}

export interface DetectionPseudoLabels {
  /** Pseudo-labeled records, in input order, in the human detection record format. */
  records: ImageRecord[];
  stats: DetectionLabelStats;
}

/** The boxes of one image that become pseudo-labels: score >= threshold, as record objects. */
export function selectPseudoBoxes(detections: readonly ScoredBox[], threshold: number): BoxObject[] {
  const clip = (v: number) => Math.min(1, Math.max(0, v));
  const kept: BoxObject[] = [];
  for (const d of detections) {
    if (!(d.score >= threshold)) continue;
    const box = { xmin: clip(d.xmin), ymin: clip(d.ymin), xmax: clip(d.xmax), ymax: clip(d.ymax) };
    // A box clipped to nothing carries no object; the record format would refuse min > max anyway.
    if (box.xmax <= box.xmin || box.ymax <= box.ymin) continue;
    kept.push({ ...box, label: d.label });
  }
  return kept;
}

/** Mean boxes per record over labeled detection records (crowd boxes count: they are boxes the student sees). */
export function humanBoxesPerImage(records: readonly Pick<ImageRecord, 'key' | 'objects'>[]): number {
  if (records.length === 0) return 0;
  let boxes = 0;
  for (const r of records) {
    if (r.objects === undefined) throw new InputError('human_records', `record ${r.key} has no boxes: not a labeled detection record`);
    boxes += r.objects.length;
  }
  return boxes / records.length;
}

/**
 * Detection pseudo-labels from the teacher's per-image detections (already through NMS or Soft-NMS):
 * boxes with score >= threshold become the record's objects (1-based labels, normalized corners, no
 * crowd flag, area left to the box's), and the image keeps its PNG. `numClasses` counts the
 * background (the manifest's class_names); a detection label outside 1..numClasses-1 is an error.
 */
export function pseudoLabelDetections(
  records: readonly ImageRecord[],
  detections: readonly (readonly ScoredBox[])[],
  numClasses: number,
  o: Pick<ResolvedDetectionLabelingOptions, 'threshold' | 'dropEmptyImages'>,
  human?: readonly Pick<ImageRecord, 'key' | 'objects'>[],
): DetectionPseudoLabels {
  if (records.length !== detections.length) throw new Error(`${records.length} records but detections for ${detections.length} images`);
  const keptPerClass = new Array<number>(numClasses).fill(0);
  const droppedPerClass = new Array<number>(numClasses).fill(0);
  const scores: number[] = [];
  const out: ImageRecord[] = [];
  let imagesWithBoxes = 0;
  let boxes = 0;
  records.forEach((r, i) => {
    for (const d of detections[i]) {
      if (!(Number.isInteger(d.label) && d.label >= 1 && d.label < numClasses)) {
        throw new Error(`detection on ${r.key} has label ${d.label}; box labels are 1..${numClasses - 1} (0 is the background)`);
      }
      scores.push(Math.min(1, Math.max(0, d.score)));
      if (!(d.score >= o.threshold)) droppedPerClass[d.label] += 1;
    }
    const objects = selectPseudoBoxes(detections[i], o.threshold);
    for (const b of objects) keptPerClass[b.label] += 1;
    boxes += objects.length;
    if (objects.length > 0) imagesWithBoxes += 1;
    else if (o.dropEmptyImages) return;
    // Only what a human detection record carries: no class label, soft label or mask rides along.
    const rec: ImageRecord = { key: r.key, image: r.image, height: r.height, width: r.width, channels: r.channels, objects };
    if (r.encoded !== undefined) rec.encoded = r.encoded;
    if (r.sourceId !== undefined) rec.sourceId = r.sourceId;
    out.push(rec);
  });
  return {
    records: out,
    stats: {
      images: records.length,
      imagesWithBoxes,
      keptImages: out.length,
      droppedImages: records.length - out.length,
      boxes,
      candidates: scores.length,
      boxesPerImage: records.length === 0 ? 0 : boxes / records.length,
      humanBoxesPerImage: human === undefined ? null : humanBoxesPerImage(human),
      keptPerClass,
      droppedPerClass,
      scoreHistogram: confidenceHistogram(scores, 10),
    },
  };
}

/** Statistics of two shards as one (the driver's view of a whole pseudo-labeled split). */
export function mergeDetectionLabelStats(a: DetectionLabelStats, b: DetectionLabelStats): DetectionLabelStats {
  const add = (x: number[], y: number[]) => {
    if (x.length !== y.length) throw new Error(`cannot merge statistics of ${x.length} and ${y.length} classes`);
    return x.map((v, i) => v + y[i]);
  };
  const images = a.images + b.images;
  const boxes = a.boxes + b.boxes;
  return {
    images,
    imagesWithBoxes: a.imagesWithBoxes + b.imagesWithBoxes,
    keptImages: a.keptImages + b.keptImages,
    droppedImages: a.droppedImages + b.droppedImages,
    boxes,
    candidates: a.candidates + b.candidates,
    boxesPerImage: images === 0 ? 0 : boxes / images,
    // The human split is the same for every shard of a run.
    humanBoxesPerImage: a.humanBoxesPerImage ?? b.humanBoxesPerImage,
    keptPerClass: add(a.keptPerClass, b.keptPerClass),
    droppedPerClass: add(a.droppedPerClass, b.droppedPerClass),
    scoreHistogram: add(a.scoreHistogram, b.scoreHistogram),
  };
}
