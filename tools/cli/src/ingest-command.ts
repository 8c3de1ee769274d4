import { FIT_POLICIES, ingestCoco, ingestFashionMnist, ingestVocDetection, ingestVocSegmentation, type FashionMnistLabelSpace, type FitPolicy, type PhotoIngestOptions, type PhotoWriteResult } from '@selftrain/data';
import { InputError } from '@selftrain/errors';
import type { Logger } from '@selftrain/logger';
import { openStore, ProgressDisplay } from '@selftrain/pipeline';
import type { S3ObjectStore, StorageConfig } from '@selftrain/storage';
import { booleanFlag, intFlag, requiredFlag, stringFlag, type ParsedArgs } from './cli-args';
import { parseImageSize } from './image-size-flag';

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

/** The photo flags COCO and VOC share with `ingest images`: size, fit, channels, --skip-bad. */
export function photoFlags(args: ParsedArgs): PhotoIngestOptions {
  const resize = stringFlag(args, 'resize');
  if (resize !== undefined && !(FIT_POLICIES as readonly string[]).includes(resize)) throw new InputError('--resize', `must be one of ${FIT_POLICIES.join(', ')}, got ${JSON.stringify(resize)}`);
  const channels = intFlag(args, 'channels', 1, 3);
  if (channels === 2) throw new InputError('--channels', 'must be 1 or 3, got 2');
  return {
    imageSize: parseImageSize(stringFlag(args, 'image-size')),
    resize: resize as FitPolicy | undefined,
    channels: channels as 1 | 3 | undefined,
    skipBad: booleanFlag(args, 'skip-bad'),
  };
}

/** What a photo ingest adds to the summary: how many were resized, boxes dropped, files skipped. */
function describePhotos(r: IngestOutcome, display: ProgressDisplay): void {
  const { manifest, resized, droppedBoxes } = r as PhotoWriteResult;
  display.note(`${manifest.height}x${manifest.width}x${manifest.channels}${manifest.resizePolicy ? ` (${resized} resized by ${manifest.resizePolicy})` : ''}${droppedBoxes ? `, ${droppedBoxes} box(es) fell outside and were dropped` : ''}`);
  const skipped = manifest.skippedFiles;
  if (skipped.length > 0) display.note(`skipped ${skipped.length} bad file(s) (listed in the manifest's skipped_files), e.g. ${skipped[0].file}: ${skipped[0].reason}`);
}

/** `selftrain ingest coco ...` */
export async function ingestCocoCommand(args: ParsedArgs, logger: Logger): Promise<number> {
  const opts = {
    annotationFile: requiredFlag(args, 'annotations'), imageDir: requiredFlag(args, 'images'), unlabeledDir: stringFlag(args, 'unlabeled'),
    prefix: requiredFlag(args, 'prefix'), seed: intFlag(args, 'seed', 0), ...photoFlags(args),
  };
  return runIngest(logger, ({ store, onProgress }) => ingestCoco(store, { ...opts, onProgress }), describePhotos);
}

/** `selftrain ingest voc ...` (segmentation: JPEGImages + SegmentationClass) */
export async function ingestVocCommand(args: ParsedArgs, logger: Logger): Promise<number> {
  const opts = {
    imageDir: requiredFlag(args, 'images'), maskDir: requiredFlag(args, 'masks'), prefix: requiredFlag(args, 'prefix'), seed: intFlag(args, 'seed', 0),
    classNames: stringFlag(args, 'classes')?.split(','), ...photoFlags(args),
  };
  return runIngest(logger, ({ store, onProgress }) => ingestVocSegmentation(store, { ...opts, onProgress }), describePhotos);
}

/** `selftrain ingest voc-detection ...` (Annotations/*.xml + JPEGImages, ImageSets/Main splits) */
export async function ingestVocDetectionCommand(args: ParsedArgs, logger: Logger): Promise<number> {
  const opts = {
    root: requiredFlag(args, 'root'), prefix: requiredFlag(args, 'prefix'), seed: intFlag(args, 'seed', 0),
    classNames: stringFlag(args, 'classes')?.split(','), ...photoFlags(args),
  };
  return runIngest(logger, ({ store, onProgress }) => ingestVocDetection(store, { ...opts, onProgress }), describePhotos);
}
