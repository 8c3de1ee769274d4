import { ingestCoco, ingestFashionMnist, ingestVocSegmentation, type FashionMnistLabelSpace } from '@selftrain/data';
import { InputError } from '@selftrain/errors';
import type { Logger } from '@selftrain/logger';
import { openStore, ProgressDisplay } from '@selftrain/pipeline';
import type { S3ObjectStore, StorageConfig } from '@selftrain/storage';
import { intFlag, requiredFlag, stringFlag, type ParsedArgs } from './cli-args';

/** What every ingest returns that the command reports. */
export interface IngestOutcome {
  manifestArtifact: { key: string };
  manifest: { splits: { name: string; records: number }[] };
  reused?: boolean;
}

export interface IngestContext {
  store: S3ObjectStore;
  config: StorageConfig;
  display: ProgressDisplay;
  onProgress(done: number, total: number): void;
}

/**
 * Opens the bucket, runs one ingest with a progress bar, prints what it wrote (or found already there).
 * `describe` may add lines of its own (e.g. the files an ingest skipped).
 */
export async function runIngest(logger: Logger, ingest: (ctx: IngestContext) => Promise<IngestOutcome>, describe?: (r: IngestOutcome, display: ProgressDisplay) => void): Promise<number> {
  const display = new ProgressDisplay();
  const { store, config, close } = await openStore(logger);
  try {
    const result = await ingest({ store, config, display, onProgress: (done, total) => display.update('ingest', done, total) });
    display.finish('ingest', `${result.reused ? 'already there' : 'written'}: ${result.manifestArtifact.key} (${result.manifest.splits.map((s) => `${s.name} ${s.records}`).join(', ')})`);
    describe?.(result, display);
    return 0;
  } finally {
    await close();
  }
}

/** `selftrain ingest fashion-mnist ...` */
export async function ingestFashionMnistCommand(args: ParsedArgs, logger: Logger): Promise<number> {
  const labelSpace = stringFlag(args, 'label-space');
  if (labelSpace !== undefined && labelSpace !== 'fine' && labelSpace !== 'coarse') throw new InputError('--label-space', `must be fine or coarse, got ${JSON.stringify(labelSpace)}`);
  const opts = { sourceDir: stringFlag(args, 'source'), prefix: stringFlag(args, 'prefix'), labelsPerClass: intFlag(args, 'labels-per-class', 1), seed: intFlag(args, 'seed', 0), labelSpace: labelSpace as FashionMnistLabelSpace | undefined };
  return runIngest(logger, ({ store, onProgress }) => ingestFashionMnist(store, { ...opts, onProgress }));
}

/** `selftrain ingest coco ...` */
export async function ingestCocoCommand(args: ParsedArgs, logger: Logger): Promise<number> {
  const opts = {
    annotationFile: requiredFlag(args, 'annotations'), imageDir: requiredFlag(args, 'images'), unlabeledDir: stringFlag(args, 'unlabeled'),
    prefix: requiredFlag(args, 'prefix'), seed: intFlag(args, 'seed', 0),
  };
  return runIngest(logger, ({ store, onProgress }) => ingestCoco(store, { ...opts, onProgress }));
}

/** `selftrain ingest voc ...` */
export async function ingestVocCommand(args: ParsedArgs, logger: Logger): Promise<number> {
  const opts = {
    imageDir: requiredFlag(args, 'images'), maskDir: requiredFlag(args, 'masks'), prefix: requiredFlag(args, 'prefix'), seed: intFlag(args, 'seed', 0),
    classNames: stringFlag(args, 'classes')?.split(','),
  };
  return runIngest(logger, ({ store, onProgress }) => ingestVocSegmentation(store, { ...opts, onProgress }));
}
