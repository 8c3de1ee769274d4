// The dataset manifest (<prefix>/manifest.json) is the only index of a dataset's shards; it is
// written last, so finding it means the dataset is complete.
import { CorruptDataError, NotFoundError } from '@selftrain/errors';
import { DatasetManifest, DatasetTask, type Split } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';

export const RECORD_FORMAT = 'tfrecord/tf.train.Example';

export function manifestKey(prefix: string): string {
  return `${prefix}/manifest.json`;
}

/** NotFoundError('dataset <prefix>') when the dataset is absent or incomplete (no manifest yet). */
export async function loadManifest(store: ObjectStore, prefix: string): Promise<DatasetManifest> {
  const key = manifestKey(prefix);
  let json: unknown;
  try {
    json = await store.getJson(key);
  } catch (err) {
    if (err instanceof NotFoundError) throw new NotFoundError(`dataset ${prefix}`, `dataset ${prefix} not found (no ${key})`);
    throw err;
  }
  // Written by anything with bucket access: a manifest that is not an object would break fromJSON with a TypeError.
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new CorruptDataError(key, 0, `not a dataset manifest: the document is ${json === null ? 'null' : Array.isArray(json) ? 'an array' : typeof json}`);
  }
  const manifest = DatasetManifest.fromJSON(json);
  if (manifest.recordFormat !== RECORD_FORMAT) {
    throw new CorruptDataError(key, 0, `record_format ${JSON.stringify(manifest.recordFormat)}, expected ${RECORD_FORMAT}`);
  }
  return manifest;
}

/** The named split; NotFoundError('split <name>') lists the ones that exist. */
export function splitOf(manifest: DatasetManifest, name: string): Split {
  const split = manifest.splits.find((s) => s.name === name);
  if (!split) {
    const names = manifest.splits.map((s) => s.name).join(', ') || 'none';
    throw new NotFoundError(`split ${name}`, `split ${name} not found in dataset ${manifest.name}; available: ${names}`);
  }
  return split;
}

export type Task = 'classification' | 'detection' | 'segmentation';

/** The dataset's task; manifests written before the field existed (UNSPECIFIED) are classification. */
export function taskOf(manifest: DatasetManifest): Task {
  switch (manifest.task) {
    case DatasetTask.DATASET_TASK_DETECTION:
      return 'detection';
    case DatasetTask.DATASET_TASK_SEGMENTATION:
      return 'segmentation';
    case DatasetTask.DATASET_TASK_UNSPECIFIED:
    case DatasetTask.DATASET_TASK_CLASSIFICATION:
      return 'classification';
    default:
      throw new CorruptDataError(manifest.name, 0, `unknown dataset task ${manifest.task}`);
  }
}

export const TASK_ENUM: Record<Task, DatasetTask> = {
  classification: DatasetTask.DATASET_TASK_CLASSIFICATION,
  detection: DatasetTask.DATASET_TASK_DETECTION,
  segmentation: DatasetTask.DATASET_TASK_SEGMENTATION,
};
