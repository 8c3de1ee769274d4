import { IGNORE_LABEL, type Task } from '@selftrain/data';
import { InputError } from '@selftrain/errors';
import type { LabelingOptions } from '@selftrain/proto';
import {
  resolveDetectionLabelingOptions, resolveSegmentationLabelingOptions,
  type ResolvedDetectionLabelingOptions, type ResolvedSegmentationLabelingOptions,
} from './dense-labeling-options';
import type { ResolvedLabelingOptions } from './labeling-options';

/** The LabelingOptions fields only detection or segmentation read, checked when the request arrives. */
export interface DenseShardOptions {
  softNms: boolean;
  dropEmptyImages: boolean;
  /** Empty: the paper's six scales. */
  scales: number[];
  /** As requested; undefined = the task's default (LABELING_OPTIONS). */
  batchSize: number | undefined;
  /** As requested; undefined = the task's default (detection's is lower than classification's). */
  threshold: number | undefined;
}

/** Larger scales of a 96 px image cost 16x a plain pass and more; nothing the papers use goes past 2. */
export const MAX_LABELING_SCALE = 4;
export const MAX_LABELING_SCALES = 8;

export function denseShardOptions(o: LabelingOptions | undefined): DenseShardOptions {
  const scales = o?.scales ?? [];
  if (scales.length > MAX_LABELING_SCALES) throw new InputError('options.scales', `at most ${MAX_LABELING_SCALES} scales, got ${scales.length}`);
  scales.forEach((s, i) => {
    if (!(Number.isFinite(s) && s > 0 && s <= MAX_LABELING_SCALE)) throw new InputError(`options.scales[${i}]`, `must be in (0, ${MAX_LABELING_SCALE}], got ${s}`);
  });
  return { softNms: o?.softNms ?? false, dropEmptyImages: o?.dropEmptyImages ?? false, scales: [...scales], batchSize: o?.batchSize, threshold: o?.threshold };
}

/**
 * Refuses the options another task reads (they would be ignored silently otherwise): soft labels and
 * class balancing are classification's; soft_nms and drop_empty_images detection's; scales segmentation's.
 */
export function assertOptionsFitTask(task: Task, options: Pick<ResolvedLabelingOptions, 'soft' | 'balance'>, dense: DenseShardOptions): void {
  const refuse = (field: string, owner: string) => {
    throw new InputError(`options.${field}`, `applies to ${owner} datasets only; this dataset is ${task}`);
  };
  if (task !== 'classification') {
    if (options.soft) refuse('soft', 'classification');
    if (options.balance) refuse('balance', 'classification');
  }
  if (task !== 'detection') {
    if (dense.softNms) refuse('soft_nms', 'detection');
    if (dense.dropEmptyImages) refuse('drop_empty_images', 'detection');
  }
  if (task !== 'segmentation' && dense.scales.length > 0) refuse('scales', 'segmentation');
}

export function detectionShardOptions(dense: DenseShardOptions): ResolvedDetectionLabelingOptions {
  return resolveDetectionLabelingOptions({
    threshold: dense.threshold, nms: dense.softNms ? 'soft-nms' : 'nms', dropEmptyImages: dense.dropEmptyImages, batchSize: dense.batchSize,
  });
}

/** `ignoreLabel`: the manifest's (0, unset, is the data lib's default). */
export function segmentationShardOptions(dense: DenseShardOptions, ignoreLabel: number): ResolvedSegmentationLabelingOptions {
  return resolveSegmentationLabelingOptions({ threshold: dense.threshold, scales: dense.scales, ignoreLabel: ignoreLabel || IGNORE_LABEL, batchSize: dense.batchSize });
}
