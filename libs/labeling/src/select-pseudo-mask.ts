import type { ImageRecord } from '@selftrain/data';

/** Segmentation pseudo-label statistics of one shard (or, merged, of a whole unlabeled split). */
export interface SegmentationLabelStats {
  images: number;
  pixels: number;
  /** Pixels whose best class fell under the threshold, set to the ignore label. */
  ignoredPixels: number;
  /** ignoredPixels / pixels (0 for no pixels). */
  ignoreFraction: number;
  /** Kept pixels per class id. */
  pixelsPerClass: number[];
  /** Images in which the class has at least one kept pixel. */
  imagesPerClass: number[];
  /** Every pixel's best averaged probability, 10 bins over [0, 1]. */
  confidenceHistogram: number[];
}

export interface PseudoMask {
  /** HxW class ids, the ignore label where the best class's probability < threshold. */
  mask: Uint8Array;
  /** HxW: the best class's probability. */
  confidence: Float32Array;
}

export interface SegmentationPseudoLabels {
  records: ImageRecord[];
  stats: SegmentationLabelStats;
}

/**
 * One image's hard pseudo-mask from per-pixel class probabilities (row-major [H*W, K], e.g. the
 * multi-scale average): argmax class where its probability >= threshold, the ignore label elsewhere.
 * Ties go to the lower class id.
 */
export function selectPseudoMask(probabilities: ArrayLike<number>, numClasses: number, threshold: number, ignoreLabel: number): PseudoMask {
  if (!(Number.isInteger(numClasses) && numClasses >= 1)) throw new Error(`numClasses must be a positive integer, got ${numClasses}`);
  if (ignoreLabel < numClasses || ignoreLabel > 255) throw new Error(`ignore label ${ignoreLabel} collides with a class id or does not fit a byte (${numClasses} classes)`);
  const pixels = probabilities.length / numClasses;
  if (!Number.isInteger(pixels)) throw new Error(`${probabilities.length} probabilities are not a whole number of ${numClasses}-class pixels`);
  const mask = new Uint8Array(pixels);
  const confidence = new Float32Array(pixels);
  for (let p = 0, at = 0; p < pixels; p++, at += numClasses) {
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (probabilities[at + c] > probabilities[at + best]) best = c;
    const prob = probabilities[at + best];
    confidence[p] = prob;
    mask[p] = prob >= threshold ? best : ignoreLabel;
  }
  return { mask, confidence };
}

/** Statistics of a set of pseudo-masks (see SegmentationLabelStats). */
export function segmentationLabelStats(masks: readonly PseudoMask[], numClasses: number, ignoreLabel: number): SegmentationLabelStats {
  const pixelsPerClass = new Array<number>(numClasses).fill(0);
  const imagesPerClass = new Array<number>(numClasses).fill(0);
  const histogram = new Array<number>(10).fill(0);
  let pixels = 0;
  let ignoredPixels = 0;
  for (const { mask, confidence } of masks) {
    const here = new Array<number>(numClasses).fill(0);
    for (let i = 0; i < mask.length; i++) {
      const v = mask[i];
      if (v === ignoreLabel) ignoredPixels += 1;
      else if (v < numClasses) here[v] += 1;
      else throw new Error(`mask value ${v} is neither a class id in 0..${numClasses - 1} nor the ignore label ${ignoreLabel}`);
      const c = confidence[i];
      // Float32 sums of softmax outputs may land a hair over 1.
      histogram[Math.min(9, Math.max(0, Math.floor(c * 10)))] += 1;
    }
    pixels += mask.length;
    here.forEach((n, c) => {
      pixelsPerClass[c] += n;
      if (n > 0) imagesPerClass[c] += 1;
    });
  }
  return {
    images: masks.length, pixels, ignoredPixels, ignoreFraction: pixels === 0 ? 0 : ignoredPixels / pixels,
    pixelsPerClass, imagesPerClass, confidenceHistogram: histogram,
  };
}

/** Statistics of two shards as one. */
export function mergeSegmentationLabelStats(a: SegmentationLabelStats, b: SegmentationLabelStats): SegmentationLabelStats {
  const add = (x: number[], y: number[]) => {
    if (x.length !== y.length) throw new Error(`cannot merge statistics of ${x.length} and ${y.length} classes`);
    return x.map((v, i) => v + y[i]);
  };
  const pixels = a.pixels + b.pixels;
  const ignoredPixels = a.ignoredPixels + b.ignoredPixels;
  return {
    images: a.images + b.images, pixels, ignoredPixels, ignoreFraction: pixels === 0 ? 0 : ignoredPixels / pixels,
    pixelsPerClass: add(a.pixelsPerClass, b.pixelsPerClass), imagesPerClass: add(a.imagesPerClass, b.imagesPerClass),
    confidenceHistogram: add(a.confidenceHistogram, b.confidenceHistogram),
  };
}

/** The pseudo-labeled record: the image (PNG reused) and its mask, nothing else a human mask record lacks. */
export function pseudoMaskRecord(r: ImageRecord, mask: Uint8Array): ImageRecord {
  if (mask.length !== r.height * r.width) throw new Error(`mask of ${mask.length} pixels for ${r.key} (${r.height}x${r.width})`);
  const rec: ImageRecord = { key: r.key, image: r.image, height: r.height, width: r.width, channels: r.channels, mask };
  if (r.encoded !== undefined) rec.encoded = r.encoded;
  if (r.sourceId !== undefined) rec.sourceId = r.sourceId;
  return rec;
}
