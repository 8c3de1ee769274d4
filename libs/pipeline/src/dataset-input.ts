// What a dataset already in the bucket (dataset.source: bucket) holds, for the spec's defaults: the
// classification defaults were tuned on 28x28 grey (Fashion-MNIST); any other classification dataset is a
// user's photos and takes the photos defaults (the residual classifier), as dataset.source: images does.
import { loadManifest, taskOf } from '@selftrain/data';
import { NotFoundError } from '@selftrain/errors';
import type { Input } from '@selftrain/options';
import type { DatasetManifest } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';
import { loadSpecFile, type RunSpec } from './spec';

/** 'photos' for a classification dataset that is not 28x28 grey; undefined otherwise. */
export function datasetInput(manifest: DatasetManifest): Input | undefined {
  if (taskOf(manifest) !== 'classification') return undefined;
  return manifest.height === 28 && manifest.width === 28 && manifest.channels === 1 ? undefined : 'photos';
}

/**
 * A spec file completed for the dataset it names: with `dataset.source: bucket`, the manifest at
 * `dataset.prefix` decides the input. A dataset not there leaves the spec as it is; the run then stops
 * on it with the ingest hint.
 */
export async function loadSpecFileForStore(path: string | undefined, store: ObjectStore): Promise<RunSpec> {
  const spec = loadSpecFile(path);
  if (spec.dataset.source !== 'bucket' || spec.task !== 'classification') return spec;
  const manifest = await loadManifest(store, spec.dataset.prefix).catch((err: unknown) => {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  });
  const input = manifest && datasetInput(manifest);
  return input ? loadSpecFile(path, input) : spec;
}
