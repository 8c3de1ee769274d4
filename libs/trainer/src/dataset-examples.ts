import { inputShapeOf } from '@selftrain/checkpoints';
import { loadManifest, readSplit, splitOf } from '@selftrain/data';
import { InputError } from '@selftrain/errors';
import type { DatasetManifest } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';
import type { Example, ImageShape } from '@selftrain/train';

export interface LoadedSplit {
  manifest: DatasetManifest;
  shape: ImageShape;
  examples: Example[];
}

/** The dataset's geometry and normalisation, as the models see it (checkpoints record it). */
export function shapeOf(manifest: DatasetManifest): ImageShape {
  return inputShapeOf(manifest);
}

/** A small labeled split (labeled, val, test) in memory; refuses the unlabeled split, whose labels are withheld. */
export async function loadLabeledSplit(store: ObjectStore, dataset: string, split: string, field: string): Promise<LoadedSplit> {
  const manifest = await loadManifest(store, dataset);
  const info = splitOf(manifest, split);
  if (!info.labeled) throw new InputError(field, `split ${split} of ${dataset} has no labels`);
  const records = await readSplit(store, manifest, split);
  const examples = records.map((r, i) => {
    if (r.label === undefined) throw new InputError(field, `record ${i} (${r.key}) of split ${split} has no label`);
    return { image: r.image, label: r.label };
  });
  return { manifest, shape: shapeOf(manifest), examples };
}
