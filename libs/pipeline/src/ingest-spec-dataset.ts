import { ingestFashionMnist, ingestFashionMnistScenes, ingestImages, loadManifest, manifestKey, taskOf, type FashionMnistLabelSpace, type FitPolicy, type IngestResult } from '@selftrain/data';
import { InputError, NotFoundError } from '@selftrain/errors';
import { S3ObjectStore, type ObjectStore } from '@selftrain/storage';
import type { ProgressDisplay } from './progress-display';
import type { RunSpec } from './spec';

/** Writes (or reuses) the dataset a spec's `dataset` section describes, with a progress bar. */
export async function ingestSpecDataset(
  store: ObjectStore, dataset: RunSpec['dataset'], display: ProgressDisplay, label = 'ingest', labelSpace: FashionMnistLabelSpace = 'fine',
): Promise<IngestResult> {
  const ingest = await ingestFashionMnist(store, {
    sourceDir: dataset.source_dir || undefined, prefix: dataset.prefix, labelsPerClass: dataset.labels_per_class,
    valPerClass: dataset.val_per_class, shardSize: dataset.shard_size, seed: dataset.seed,
    limitTrain: dataset.limit_train || undefined, limitTest: dataset.limit_test || undefined, labelSpace,
    onProgress: (done, total) => display.update(label, done, total),
  });
  display.finish(label, `${dataset.prefix} ${ingest.reused ? 'reused' : 'written'}: ${ingest.manifest.splits.map((s) => `${s.name} ${s.records}`).join(', ')}`);
  return ingest;
}

/** Where the run's dataset is in the bucket (a user's photos: a prefix ingest derives from the files). */
export type RunDataset = IngestResult & { prefix: string };

/**
 * The run's dataset: Fashion-MNIST for classification, its scenes (boxes and masks) for detection and
 * segmentation, a user's photos (dataset.source: images), or a dataset already in the bucket.
 */
export async function ingestRunDataset(store: ObjectStore, spec: RunSpec, display: ProgressDisplay): Promise<RunDataset> {
  if (spec.dataset.source === 'bucket') return { ...(await existingDataset(store, spec, display)), prefix: spec.dataset.prefix };
  if (spec.dataset.source === 'images') return ingestImageFolders(store, spec.dataset, display);
  if (spec.task === 'classification') return { ...(await ingestSpecDataset(store, spec.dataset, display)), prefix: spec.dataset.prefix };
  const d = spec.dataset;
  const ingest = await ingestFashionMnistScenes(store, {
    sourceDir: d.source_dir || undefined, prefix: d.prefix, task: spec.task, seed: d.seed, shardSize: Math.min(d.shard_size, 1024),
    labeled: d.scenes.labeled, val: d.scenes.val, unlabeled: d.scenes.unlabeled, test: d.scenes.test, canvas: d.scenes.canvas,
    minItems: d.scenes.min_items, maxItems: d.scenes.max_items,
    onProgress: (done, total) => display.update('ingest', done, total),
  });
  display.finish('ingest', `${d.prefix} (${spec.task} scenes) ${ingest.reused ? 'reused' : 'written'}: ${ingest.manifest.splits.map((s) => `${s.name} ${s.records}`).join(', ')}`);
  return { ...ingest, prefix: d.prefix };
}

/**
 * dataset.source: images. Ingested once: the default prefix digests the files and options, so a rerun (or
 * another spec naming the same files elsewhere) finds the finished dataset and reuses it. Unlabeled pools
 * are folders or s3://BUCKET/PREFIX prefixes of raw images on the run's endpoint (its bucket or another).
 */
async function ingestImageFolders(store: ObjectStore, d: RunSpec['dataset'], display: ProgressDisplay): Promise<RunDataset> {
  const ingest = await ingestImages(store, {
    labeledDir: d.labeled, unlabeled: d.unlabeled, testDir: d.test || undefined,
    labelsPerClass: d.labels_per_class || undefined, valPerClass: d.val_per_class || undefined,
    imageSize: d.image_size ? { height: d.image_size, width: d.image_size } : undefined, resizePolicy: d.resize as FitPolicy,
    seed: d.seed, prefix: d.prefix || undefined, skipBad: d.skip_bad,
    // An unlabeled pool in another bucket of the endpoint (s3://BUCKET/PREFIX): read with the run's credentials.
    openBucket: store instanceof S3ObjectStore ? (bucket) => store.connectBucket(bucket) : undefined,
    onProgress: (done, total) => display.update('ingest', done, total),
  });
  const m = ingest.manifest;
  const skipped = m.skippedFiles.length ? `, ${m.skippedFiles.length} bad file(s) skipped (listed in the manifest)` : '';
  display.finish('ingest', `${ingest.prefix} ${ingest.reused ? 'reused' : 'written'} (${m.height}x${m.width}x${m.channels}${m.resizePolicy ? `, ${m.resizePolicy}` : ''}): ${m.splits.map((s) => `${s.name} ${s.records}`).join(', ')}${skipped}`);
  return { manifest: m, manifestArtifact: ingest.manifestArtifact, reused: ingest.reused, prefix: ingest.prefix };
}

/** dataset.source: bucket — the user's own dataset, ingested before; its task must be the spec's. */
async function existingDataset(store: ObjectStore, spec: RunSpec, display: ProgressDisplay): Promise<IngestResult> {
  const prefix = spec.dataset.prefix;
  const manifest = await loadManifest(store, prefix).catch((err: unknown) => {
    throw err instanceof NotFoundError ? new NotFoundError(`dataset.prefix ${prefix}`, `dataset.prefix: ${err.message}; ingest it first (selftrain ingest coco|voc|fashion-mnist)`) : err;
  });
  if (taskOf(manifest) !== spec.task) throw new InputError('task', `is ${spec.task}, but dataset ${prefix} is labeled for ${taskOf(manifest)}`);
  for (const split of ['labeled', 'val', 'unlabeled', 'test']) {
    if (!manifest.splits.some((s) => s.name === split)) throw new InputError('dataset.prefix', `dataset ${prefix} has no ${split} split (it has ${manifest.splits.map((s) => s.name).join(', ')})`);
  }
  const stat = (await store.stat(manifestKey(prefix)))!;
  display.finish('ingest', `${prefix} (in the bucket): ${manifest.splits.map((s) => `${s.name} ${s.records}`).join(', ')}`);
  return { manifest, manifestArtifact: { key: stat.key, sha256: stat.sha256, sizeBytes: stat.sizeBytes }, reused: true };
}
