import { tf } from '@selftrain/compute';
import { encodeBox, type AnchorSet } from '@selftrain/models';

/** One image's ground truth: normalized corner boxes [xmin, ymin, xmax, ymax] and 1-based labels. */
export interface GroundTruthBoxes {
  /** [G*4] */
  boxes: ArrayLike<number>;
  /** [G], 1..numClasses (0 is the background and never a box label) */
  labels: ArrayLike<number>;
}

export interface AssignOptions {
  /** IoU at or above which an anchor is positive (default 0.5) */
  positiveIou?: number;
  /** IoU below which an anchor is background (default 0.4); in between it is ignored */
  negativeIou?: number;
  /**
   * Also make each box's best anchors positive when their IoU is under positiveIou (default true, as
   * Detectron2's RetinaNet matcher does): small objects then still get an anchor.
   */
  lowQualityMatches?: boolean;
}

export interface DetectionTargets {
  /** [N]: -1 ignored, 0 background, k >= 1 the matched box's label */
  classTargets: Int32Array;
  /** [N*4]: encoded (dx, dy, dw, dh) of the matched box; 0 where not positive */
  boxTargets: Float32Array;
  numPositives: number;
}

export interface DetectionTargetTensors {
  /** [B, N] int32 */
  classTargets: tf.Tensor2D;
  /** [B, N, 4] */
  boxTargets: tf.Tensor3D;
  /** over the whole batch: the losses' normalizer */
  numPositives: number;
}

function iou(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number): number {
  const w = Math.min(a[i * 4 + 2], b[j * 4 + 2]) - Math.max(a[i * 4], b[j * 4]);
  if (w <= 0) return 0;
  const h = Math.min(a[i * 4 + 3], b[j * 4 + 3]) - Math.max(a[i * 4 + 1], b[j * 4 + 1]);
  if (h <= 0) return 0;
  const inter = w * h;
  const union = (a[i * 4 + 2] - a[i * 4]) * (a[i * 4 + 3] - a[i * 4 + 1]) + (b[j * 4 + 2] - b[j * 4]) * (b[j * 4 + 3] - b[j * 4 + 1]) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * RetinaNet target assignment for one image: each anchor takes the box it overlaps most; IoU >= 0.5
 * makes it positive (class = the box's label, regression target = the box encoded against the anchor),
 * < 0.4 background, in between ignored (no loss at all). Empty boxes (zero width or height) are skipped.
 */
export function assignDetectionTargets(anchors: AnchorSet, gt: GroundTruthBoxes, opts: AssignOptions = {}): DetectionTargets {
  const pos = opts.positiveIou ?? 0.5;
  const neg = opts.negativeIou ?? 0.4;
  if (!(neg <= pos)) throw new Error(`negativeIou ${neg} must not exceed positiveIou ${pos}`);
  const n = anchors.count;
  const a = anchors.boxes;
  const g = gt.labels.length;
  if (gt.boxes.length !== g * 4) throw new Error(`ground truth has ${gt.boxes.length / 4} boxes but ${g} labels`);
  for (let j = 0; j < g; j++) {
    const label = gt.labels[j];
    if (!Number.isInteger(label) || label < 1) throw new Error(`box ${j}: label ${label} is not a 1-based class (0 is the background)`);
  }
  const usable = Array.from({ length: g }, (_, j) => gt.boxes[j * 4 + 2] > gt.boxes[j * 4] && gt.boxes[j * 4 + 3] > gt.boxes[j * 4 + 1]);
  const bestIou = new Float64Array(n);
  const bestBox = new Int32Array(n).fill(-1);
  const boxBest = new Float64Array(g);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < g; j++) {
      if (!usable[j]) continue;
      const v = iou(a, i, gt.boxes, j);
      if (v > bestIou[i] || bestBox[i] < 0) { bestIou[i] = v; bestBox[i] = j; }
      if (v > boxBest[j]) boxBest[j] = v;
    }
  }
  const classTargets = new Int32Array(n);
  const positive = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (bestBox[i] < 0 || bestIou[i] < neg) classTargets[i] = 0;
    else if (bestIou[i] >= pos) positive[i] = 1;
    else classTargets[i] = -1;
  }
  if (opts.lowQualityMatches ?? true) {
    for (let i = 0; i < n; i++) {
      if (positive[i] || bestBox[i] < 0) continue;
      // Ties included: every anchor that reaches some box's best IoU (Detectron2's Matcher).
      for (let j = 0; j < g; j++) {
        if (usable[j] && boxBest[j] > 0 && iou(a, i, gt.boxes, j) === boxBest[j]) { positive[i] = 1; break; }
      }
    }
  }
  const boxTargets = new Float32Array(n * 4);
  let numPositives = 0;
  for (let i = 0; i < n; i++) {
    if (!positive[i]) continue;
    const j = bestBox[i];
    classTargets[i] = gt.labels[j];
    encodeBox(a, i, gt.boxes, j, boxTargets, i * 4);
    numPositives += 1;
  }
  return { classTargets, boxTargets, numPositives };
}

/** Targets for a batch as tensors (the caller disposes them). */
export function detectionTargetTensors(anchors: AnchorSet, batch: GroundTruthBoxes[], opts: AssignOptions = {}): DetectionTargetTensors {
  const n = anchors.count;
  const cls = new Int32Array(batch.length * n);
  const box = new Float32Array(batch.length * n * 4);
  let numPositives = 0;
  batch.forEach((gt, b) => {
    const t = assignDetectionTargets(anchors, gt, opts);
    cls.set(t.classTargets, b * n);
    box.set(t.boxTargets, b * n * 4);
    numPositives += t.numPositives;
  });
  return {
    classTargets: tf.tensor2d(cls, [batch.length, n], 'int32'),
    boxTargets: tf.tensor3d(box, [batch.length, n, 4]),
    numPositives,
  };
}
