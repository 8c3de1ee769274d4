// Segmentation scores from a pixel confusion matrix accumulated over images: per-class IoU
// TP / (TP + FP + FN) and their mean, with ignore-label pixels (VOC's 255) counted nowhere.
import { IGNORE_LABEL } from './ignore-label.js';

export class SegmentationConfusion {
  /** counts[t][p]: pixels of true class t predicted as p. */
  readonly counts: number[][];

  constructor(readonly numClasses: number, readonly ignoreLabel = IGNORE_LABEL) {
    if (!Number.isInteger(numClasses) || numClasses <= 0) throw new Error(`numClasses must be a positive integer, got ${numClasses}`);
    if (ignoreLabel < numClasses) throw new Error(`ignoreLabel ${ignoreLabel} collides with a class id (numClasses ${numClasses})`);
    this.counts = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  }

  /** One image's true mask and predicted mask (same length, row-major). */
  add(labels: ArrayLike<number>, predictions: ArrayLike<number>): this {
    if (labels.length !== predictions.length) throw new Error(`labels has ${labels.length} pixels but predictions has ${predictions.length}`);
    for (let i = 0; i < labels.length; i++) {
      const t = labels[i];
      if (t === this.ignoreLabel) continue;
      const p = predictions[i];
      if (!(t >= 0 && t < this.numClasses && Number.isInteger(t))) throw new Error(`labels[${i}] = ${t} is neither a class id in 0..${this.numClasses - 1} nor the ignore label ${this.ignoreLabel}`);
      if (!(p >= 0 && p < this.numClasses && Number.isInteger(p))) throw new Error(`predictions[${i}] = ${p} is not a class id in 0..${this.numClasses - 1}`);
      this.counts[t][p]++;
    }
    return this;
  }

  report(): SegmentationReport {
    const n = this.numClasses;
    const colSum = new Array<number>(n).fill(0);
    let correct = 0;
    let total = 0;
    for (let t = 0; t < n; t++) {
      for (let p = 0; p < n; p++) {
        colSum[p] += this.counts[t][p];
        total += this.counts[t][p];
      }
      correct += this.counts[t][t];
    }
    const perClassIou = this.counts.map((row, c) => {
      const union = row.reduce((a, b) => a + b, 0) + colSum[c] - row[c];
      // Neither in the labels nor predicted: no evidence either way, so it stays out of the mean.
      return union === 0 ? null : row[c] / union;
    });
    const present = perClassIou.filter((v): v is number => v !== null);
    return {
      perClassIou,
      meanIou: present.length === 0 ? 0 : present.reduce((a, b) => a + b, 0) / present.length,
      pixelAccuracy: total === 0 ? 0 : correct / total,
      pixels: total,
    };
  }
}

export interface SegmentationReport {
  /** null for a class absent from both labels and predictions. */
  perClassIou: (number | null)[];
  /** Mean over the classes with an IoU; 0 when no pixel was counted (this lib never returns NaN; see `pixels`). */
  meanIou: number;
  pixelAccuracy: number;
  /** Pixels counted (ignore-label pixels excluded). */
  pixels: number;
}

export function meanIou(labels: ArrayLike<number>, predictions: ArrayLike<number>, numClasses: number, ignoreLabel = IGNORE_LABEL): SegmentationReport {
  return new SegmentationConfusion(numClasses, ignoreLabel).add(labels, predictions).report();
}
