// Writes a detection or segmentation dataset of users' photos. Each split's images are decoded on the
// DecodePool (every core) and fitted to the dataset's size once; their boxes and masks move with them
// (fitBoxes, fitMask); records go out shard by shard as they come, so memory holds about one shard
// whatever the file count; the manifest goes last. Shards are named after this attempt, so a failure
// deletes exactly what the attempt wrote and leaves everything already in the bucket as it was.
import { randomBytes } from 'node:crypto';
import { InputError } from '@selftrain/errors';
import type { Shard, SkippedFile, Split } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';
import sharp from 'sharp';
import type { BoxObject } from './annotation-features';
import { ChannelStats } from './channel-stats';
import { countClasses, publishManifest, type DatasetDescription, type WriteDatasetResult } from './dataset-writer';
import { DecodePool } from './decode-pool';
import type { DecodedPhoto } from './image-decode';
import type { ImageRecord } from './image-example';
import { FIT_POLICIES, fitBoxes, fitMask, isIdentityGeometry, type FitGeometry, type FitPolicy, type ImageSize } from './image-geometry';
import { chooseImageSize, type ImageSizeOption } from './photo-size-choice';
import { writeShard } from './shard';

export type PhotoSplitName = 'labeled' | 'val' | 'test' | 'unlabeled';

/** One photo to ingest, with its labels in the frame of the upright source image. */
export interface PhotoItem {
  /** The image file. */
  path: string;
  key: string;
  sourceId?: string;
  /** The upright size the annotation declares, and the file that declares it: checked after decoding. */
  declared?: { size: ImageSize; by: string; what: string };
  /** Detection labels: boxes as fractions of the upright source (an empty list is an image with no objects). */
  objects?: BoxObject[];
  /** Segmentation labels: the class mask at the source size; throws InputError(file, ...) when it is bad. */
  loadMask?: (source: ImageSize) => Uint8Array;
}

export interface PhotoSplit {
  name: PhotoSplitName;
  items: PhotoItem[];
}

export interface PhotoWriteOptions {
  /** The dataset's size: every record has it. */
  size: ImageSize;
  fit: FitPolicy;
  channels: 1 | 3;
  /** Leave out a bad file (its InputError goes to the manifest's skipped_files) instead of failing. */
  skipBad: boolean;
  /** Files the caller already left out (annotation problems found before decoding). */
  skipped?: SkippedFile[];
  /** Records per shard (default: as many as fit SHARD_TARGET_BYTES of pixels, 16..256). */
  shardSize?: number;
  /** Reuse a pool (tests, a CLI ingesting several datasets); default: one of every core, closed at the end. */
  pool?: DecodePool;
  onProgress?: (done: number, total: number) => void;
}

export interface PhotoWriteResult extends WriteDatasetResult {
  /** Boxes that fell wholly outside the fitted image (center-crop) and were dropped. */
  droppedBoxes: number;
  /** Records whose image was resized (they keep their original size). */
  resized: number;
}

/** Raw pixels per shard the default shard size aims at: 256 small images, fewer large ones. */
export const SHARD_TARGET_BYTES = 48 * 1024 * 1024;

/** Decodes in flight per pool thread: enough to keep every worker busy while shards are encoded and put. */
const IN_FLIGHT_PER_THREAD = 32;

/** The record count per shard for images of `size` when the user gives none. */
export function defaultPhotoShardSize(size: ImageSize, channels: number): number {
  return Math.max(16, Math.min(256, Math.floor(SHARD_TARGET_BYTES / (size.height * size.width * channels))));
}

export async function writePhotoDataset(
  store: ObjectStore,
  prefix: string,
  desc: Omit<DatasetDescription, 'height' | 'width' | 'channels'>,
  splits: PhotoSplit[],
  opts: PhotoWriteOptions,
): Promise<PhotoWriteResult> {
  const { size, channels } = opts;
  const shardSize = opts.shardSize ?? defaultPhotoShardSize(size, channels);
  if (!(Number.isInteger(shardSize) && shardSize >= 1)) throw new InputError('shardSize', `must be a positive integer, got ${shardSize}`);
  const ignore = desc.ignoreLabel ?? 255;
  const skipped: SkippedFile[] = [...(opts.skipped ?? [])];
  const pool = opts.pool ?? new DecodePool();
  const attempt = randomBytes(4).toString('hex');
  const writtenKeys: string[] = [];
  const stats = new ChannelStats(channels);
  const total = splits.reduce((n, s) => n + s.items.length, 0);
  let done = 0;
  let droppedBoxes = 0;
  let resized = 0;

  const toRecord = (item: PhotoItem, photo: DecodedPhoto): ImageRecord => {
    const g = photo.geometry;
    const source = g.source;
    const d = item.declared;
    if (d && (d.size.height !== source.height || d.size.width !== source.width)) {
      throw new InputError(item.path, `is ${source.width}x${source.height} (upright, EXIF orientation applied), but ${d.by} says ${d.size.width}x${d.size.height} (${d.what})`);
    }
    const rec: ImageRecord = { key: item.key, image: photo.pixels, height: photo.height, width: photo.width, channels: photo.channels };
    if (item.sourceId !== undefined) rec.sourceId = item.sourceId;
    if (!isIdentityGeometry(g)) {
      rec.originalHeight = source.height;
      rec.originalWidth = source.width;
    }
    if (item.objects) {
      const fitted = fitBoxes(item.objects, g);
      droppedBoxes += item.objects.length - fitted.boxes.length;
      rec.objects = fitted.boxes;
    }
    if (item.loadMask) rec.mask = fitMask(item.loadMask(source), g, ignore);
    return rec;
  };

  const writeSplit = async (split: PhotoSplit): Promise<Split> => {
    const labeled = split.name !== 'unlabeled';
    const counts = new Array<number>(desc.classNames.length).fill(0);
    const shards: Shard[] = [];
    let part: ImageRecord[] = [];
    let pngs: Promise<Buffer>[] = [];
    const flush = async () => {
      const key = `${prefix}/${split.name}/${split.name}-${attempt}-${String(shards.length).padStart(5, '0')}.tfrecord`;
      (await Promise.all(pngs)).forEach((png, k) => (part[k].encoded = png));
      pngs = [];
      const bytes = writeShard(part);
      writtenKeys.push(key);
      const art = await store.put(key, bytes);
      shards.push({ key: art.key, records: part.length, sha256: art.sha256, sizeBytes: art.sizeBytes });
      part = [];
    };
    // A window of decodes in flight, consumed in order so the records' order is the items' order.
    const window = Math.max(1, pool.threads * IN_FLIGHT_PER_THREAD);
    // Failures come back as values: a decode still in flight when the split fails never rejects unheard.
    const pending: Promise<DecodedPhoto | Error>[] = [];
    const start = (i: number) => {
      pending.push(pool.decode(split.items[i].path, { channels, size, fit: opts.fit }).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))));
    };
    let next = 0;
    while (next < split.items.length && pending.length < window) start(next++);
    for (let i = 0; i < split.items.length; i++) {
      const item = split.items[i];
      const photo = await pending.shift()!;
      if (next < split.items.length) start(next++);
      let rec: ImageRecord | undefined;
      try {
        if (photo instanceof Error) throw photo;
        rec = toRecord(item, photo);
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        skipOrThrow(err, opts.skipBad, skipped);
      }
      if (rec && !(photo instanceof Error)) {
        if (!isIdentityGeometry(photo.geometry)) resized++;
        if (labeled) countClasses(counts, rec, desc.task, ignore);
        if (split.name === 'labeled') addContent(stats, rec.image, photo.geometry, channels);
        part.push(rec);
        pngs.push(encodePng(rec));
        if (part.length === shardSize) await flush();
      }
      done++;
      opts.onProgress?.(done, total);
    }
    if (part.length > 0) await flush();
    return { name: split.name, records: shards.reduce((n, s) => n + s.records, 0), shards, classCounts: labeled ? counts : [], labeled };
  };

  try {
    const written: Split[] = [];
    for (const split of splits) {
      // An empty split says nothing; labeled is listed always, as every dataset has one.
      if (split.items.length === 0 && split.name !== 'labeled') continue;
      written.push(await writeSplit(split));
    }
    const labeledSplit = written.find((s) => s.name === 'labeled');
    if (!labeledSplit || labeledSplit.records === 0) {
      throw new InputError(desc.source, `no usable labeled image${skipped.length > 0 ? ` (${skipped.length} file(s) skipped, e.g. ${skipped[0].file}: ${skipped[0].reason})` : ''}`);
    }
    const { mean, std } = stats.moments();
    const result = await publishManifest(store, prefix, {
      ...desc,
      height: size.height,
      width: size.width,
      channels,
      channelMean: mean,
      channelStd: std,
      resizePolicy: resized > 0 ? opts.fit : '',
      skippedFiles: skipped,
    }, written);
    return { ...result, droppedBoxes, resized };
  } catch (err) {
    // Only this attempt's own shards: nothing that was in the bucket before is touched.
    await Promise.allSettled(writtenKeys.map((k) => store.delete(k)));
    throw err;
  } finally {
    if (!opts.pool) await pool.close();
  }
}

/**
 * The record's PNG, compressed by libvips on its own threads while this thread goes on with the next
 * photos (pngjs on this thread would be the ingest's bottleneck: ~40 ms for a 256x256 photo, against
 * ~8 ms here). Level 3 with adaptive filtering: within ~20 % of pngjs' size at a fraction of level 6's time.
 */
function encodePng(rec: ImageRecord): Promise<Buffer> {
  return sharp(rec.image, { raw: { width: rec.width, height: rec.height, channels: rec.channels as 1 | 3 } })
    .png({ compressionLevel: 3, adaptiveFiltering: true })
    .toBuffer();
}

/**
 * Adds the pixels that came from the photo (not the letterbox padding) to the statistics, row by row:
 * the padding is a constant the model also sees, but it says nothing about the photos.
 */
function addContent(stats: ChannelStats, pixels: Uint8Array, g: FitGeometry, channels: number): void {
  const x0 = Math.max(0, g.offsetX);
  const y0 = Math.max(0, g.offsetY);
  const x1 = Math.min(g.target.width, g.offsetX + g.resized.width);
  const y1 = Math.min(g.target.height, g.offsetY + g.resized.height);
  const rowBytes = g.target.width * channels;
  for (let y = y0; y < y1; y++) stats.add(pixels.subarray(y * rowBytes + x0 * channels, y * rowBytes + x1 * channels));
}

/** The options every photo ingest (COCO, VOC) shares. */
export interface PhotoIngestOptions {
  /** The dataset's size, `N` (square) or `{ height, width }`; default: chooseImageSize's choice. */
  imageSize?: ImageSizeOption;
  /** How photos of another size are fitted (default `letterbox`: boxes and masks stay exact, padding = ignore). */
  resize?: FitPolicy;
  /** 3 (default: sRGB, what the detector and segmenter are built for) or 1 (grey). */
  channels?: 1 | 3;
  /** Leave bad files out, each named with its reason in the manifest's skipped_files, instead of failing. */
  skipBad?: boolean;
  shardSize?: number;
  pool?: DecodePool;
  onProgress?: (done: number, total: number) => void;
}

/** PhotoIngestOptions completed: the dataset's size decided from the labeled images' declared sizes. */
export function photoWriteOptions(opts: PhotoIngestOptions, declared: readonly ImageSize[], skipped: SkippedFile[]): PhotoWriteOptions {
  const fit = opts.resize ?? 'letterbox';
  if (!FIT_POLICIES.includes(fit)) throw new InputError('resize', `unknown policy ${JSON.stringify(fit)}; use ${FIT_POLICIES.join(', ')}`);
  const channels = opts.channels ?? 3;
  if (channels !== 1 && channels !== 3) throw new InputError('channels', `must be 1 or 3, got ${channels}`);
  return {
    size: chooseImageSize(opts.imageSize, declared),
    fit,
    channels,
    skipBad: opts.skipBad ?? false,
    skipped,
    shardSize: opts.shardSize,
    pool: opts.pool,
    onProgress: opts.onProgress,
  };
}

/**
 * Records an input problem: with skipBad it joins `skipped` (file and reason) and the caller leaves the
 * file out; without, it is thrown.
 */
export function skipOrThrow(err: InputError, skipBad: boolean, skipped: SkippedFile[]): void {
  if (!skipBad) throw err;
  skipped.push({ file: err.field, reason: err.message.slice(err.field.length + 2) });
}
