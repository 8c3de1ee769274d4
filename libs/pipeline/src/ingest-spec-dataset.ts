import { ingestFashionMnist, type FashionMnistLabelSpace, type IngestResult } from '@selftrain/data';
import type { ObjectStore } from '@selftrain/storage';
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
