import { FailedPreconditionError } from '@selftrain/errors';
import type { DetectionLabelStats } from './select-pseudo-boxes';
import type { SegmentationLabelStats } from './select-pseudo-mask';

/** A teacher that kept (almost) no pseudo-label: FAILED_PRECONDITION, and for an experiment a result of its cell. */
export class TooFewPseudoLabelsError extends FailedPreconditionError {}

/**
 * The driver's guard for detection: when the teacher keeps a box on (almost) no image, the student
 * would learn that every unlabeled image is background. Counts images with a kept box, not images
 * written, so keep_empty_images does not hide an empty teacher.
 */
export function assertEnoughPseudoBoxes(stats: Pick<DetectionLabelStats, 'images' | 'imagesWithBoxes' | 'boxes'>, minFraction = 0.01): void {
  if (stats.images > 0 && stats.imagesWithBoxes / stats.images < minFraction) {
    throw new TooFewPseudoLabelsError(
      `the teacher kept ${stats.boxes} boxes, on ${stats.imagesWithBoxes} of ${stats.images} images (< ${minFraction * 100}% of images have a box); ` +
        'lower labeling.threshold or train a better teacher',
    );
  }
}

/** The driver's guard for segmentation: (almost) every pixel ignored means no pseudo-labels to train on. */
export function assertEnoughPseudoPixels(stats: Pick<SegmentationLabelStats, 'pixels' | 'ignoredPixels'>, minFraction = 0.01): void {
  const kept = stats.pixels - stats.ignoredPixels;
  if (stats.pixels > 0 && kept / stats.pixels < minFraction) {
    throw new TooFewPseudoLabelsError(
      `the teacher kept ${kept} of ${stats.pixels} pixels (< ${minFraction * 100}%; the rest are ignore); lower labeling.threshold or train a better teacher`,
    );
  }
}
