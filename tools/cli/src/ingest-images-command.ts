import { FIT_POLICIES, ingestImages, type FitPolicy, type IngestImagesResult } from '@selftrain/data';
import { InputError } from '@selftrain/errors';
import type { Logger } from '@selftrain/logger';
import { S3ObjectStore } from '@selftrain/storage';
import { booleanFlag, intFlag, listFlag, requiredFlag, stringFlag, type ParsedArgs } from './cli-args';
import { runIngest } from './ingest-command';
import { parseImageSize } from './image-size-flag';

/** `selftrain ingest images --labeled DIR ...`: your own photos as a classification dataset. */
export async function ingestImagesCommand(args: ParsedArgs, logger: Logger): Promise<number> {
  const resize = stringFlag(args, 'resize');
  if (resize !== undefined && !(FIT_POLICIES as readonly string[]).includes(resize)) throw new InputError('--resize', `must be one of ${FIT_POLICIES.join(', ')}, got ${JSON.stringify(resize)}`);
  const channels = intFlag(args, 'channels', 1, 3);
  if (channels === 2) throw new InputError('--channels', 'must be 1 or 3, got 2');
  const opts = {
    labeledDir: requiredFlag(args, 'labeled'),
    unlabeled: listFlag(args, 'unlabeled'),
    testDir: stringFlag(args, 'test'),
    labelsPerClass: intFlag(args, 'labels-per-class', 1),
    valPerClass: intFlag(args, 'val-per-class', 0),
    imageSize: parseImageSize(stringFlag(args, 'image-size')),
    resizePolicy: resize as FitPolicy | undefined,
    channels: channels as 1 | 3 | undefined,
    seed: intFlag(args, 'seed', 0),
    skipBad: booleanFlag(args, 'skip-bad'),
    prefix: stringFlag(args, 'prefix'),
  };
  return runIngest(
    logger,
    ({ store, config, onProgress }) =>
      ingestImages(store, {
        ...opts,
        onProgress,
        // An s3:// pool in another bucket of the same endpoint, with the same credentials.
        openBucket: (bucket) => S3ObjectStore.connect({ ...config, bucket, prefix: '', createBucket: false }, logger),
      }),
    (r, display) => {
      const { manifest, prefix } = r as IngestImagesResult;
      const skipped = manifest.skippedFiles;
      if (skipped.length > 0) display.note(`skipped ${skipped.length} bad file(s) (listed in the manifest's skipped_files), e.g. ${skipped[0].file}: ${skipped[0].reason}`);
      display.note(`dataset: ${prefix} (${manifest.height}x${manifest.width}x${manifest.channels}; use it with dataset: {source: bucket, prefix: ${prefix}})`);
    },
  );
}
