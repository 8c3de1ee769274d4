import type { tf } from '@selftrain/compute';
import { FailedPreconditionError } from '@selftrain/errors';
import { DatasetTask, type DatasetManifest } from '@selftrain/proto';
import { isNormalized, type ImageShape } from '@selftrain/train';

/** The key of a checkpoint's userDefinedMetadata that records the input its model was trained on. */
export const INPUT_METADATA_KEY = 'input';

/**
 * What a model sees of a dataset: its geometry and, for classification, the manifest's per-channel
 * normalisation. Detection and segmentation keep pixel / 255 (their inference paths pack batches of
 * mixed sizes without it), so a dense manifest's statistics never change what its models see.
 */
export function inputShapeOf(manifest: DatasetManifest): ImageShape {
  const shape: ImageShape = { height: manifest.height, width: manifest.width, channels: manifest.channels };
  const classification = manifest.task === DatasetTask.DATASET_TASK_UNSPECIFIED || manifest.task === DatasetTask.DATASET_TASK_CLASSIFICATION;
  if (classification && manifest.channelMean.length && manifest.channelStd.length) {
    return { ...shape, mean: [...manifest.channelMean], std: [...manifest.channelStd] };
  }
  return shape;
}

/** The checkpoint metadata that records `shape` (saved with every checkpoint a job writes). */
export function inputMetadata(shape: ImageShape): Record<string, unknown> {
  return { [INPUT_METADATA_KEY]: { height: shape.height, width: shape.width, channels: shape.channels, mean: [...(shape.mean ?? [])], std: [...(shape.std ?? [])] } };
}

/**
 * The input a loaded checkpoint was trained on: its recorded metadata, or for a checkpoint written before
 * it was recorded, the model's input size and pixel / 255 (all such checkpoints were trained on it).
 */
export function checkpointInput(model: tf.LayersModel): ImageShape {
  const meta = (model.getUserDefinedMetadata?.() ?? {}) as Record<string, unknown>;
  const recorded = meta[INPUT_METADATA_KEY] as { height: number; width: number; channels: number; mean?: number[]; std?: number[] } | undefined;
  if (recorded) return { height: recorded.height, width: recorded.width, channels: recorded.channels, mean: recorded.mean ?? [], std: recorded.std ?? [] };
  const [, h, w, c] = model.inputs[0]?.shape ?? [];
  return { height: h ?? 0, width: w ?? 0, channels: c ?? 0, mean: [], std: [] };
}

/** "32x32x3, mean [..] std [..]" or "28x28x1, pixel / 255". */
export function describeInput(s: ImageShape): string {
  const size = `${s.height || 'any'}x${s.width || 'any'}x${s.channels}`;
  if (!isNormalized(s)) return `${size}, pixel / 255`;
  const list = (v: readonly number[]) => `[${v.map((x) => x.toFixed(4)).join(', ')}]`;
  return `${size}, normalised with mean ${list(s.mean!)} std ${list(s.std!)}`;
}

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => Math.abs(x - b[i]) <= 1e-5 * Math.max(1, Math.abs(x)));

/**
 * Refuses a checkpoint trained on another geometry or normalisation than the dataset's, naming both
 * (FAILED_PRECONDITION: the request is well formed, the two artifacts do not go together); returns the
 * preprocessing to apply, the checkpoint's, which is then the dataset's too. A dataset whose images
 * differ in size (0 in the manifest) is checked per record by the caller.
 */
export function assertCheckpointFitsDataset(model: tf.LayersModel, checkpoint: string, manifest: DatasetManifest, dataset: string): ImageShape {
  const trained = checkpointInput(model);
  const data = inputShapeOf(manifest);
  const geometry = (data.height === 0 || trained.height === 0 || trained.height === data.height)
    && (data.width === 0 || trained.width === 0 || trained.width === data.width) && trained.channels === data.channels;
  if (!geometry || !same(trained.mean ?? [], data.mean ?? []) || !same(trained.std ?? [], data.std ?? [])) {
    throw new FailedPreconditionError(
      `checkpoint ${checkpoint} was trained on ${describeInput(trained)}; dataset ${dataset} is ${describeInput(data)}: ` +
      'use a checkpoint trained on this dataset (or one ingested with the same image size and statistics)',
    );
  }
  return { ...data, height: data.height || trained.height, width: data.width || trained.width };
}
