// Writes a dataset of users' photos (classification, detection or segmentation): every photo decoded on the
// DecodePool (every core) and fitted to the dataset's size once, its boxes and mask moved with it (fitBoxes,
// fitMask); records go out shard by shard, each shard followed by its receipt, so memory holds about one
// shard whatever the file count; the manifest goes last.
// Resumable: a shard is a fixed slice of its split's items and is named after the digest of what makes it
// (the items, their files, the settings), so a rerun finds every shard a failed or killed run finished,
// checks it against its receipt and reuses it. The same names keep published datasets safe: shards of other
// inputs have other names, so a run, failed or not, never overwrites an object another dataset uses.
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { InputError } from '@selftrain/errors';
import type { Shard, SkippedFile, Split } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';
import sharp from 'sharp';
import type { BoxObject } from './annotation-features';
import { ChannelStats } from './channel-stats';
import { countClasses, publishManifest, type DatasetDescription, type WriteDatasetResult } from './dataset-writer';
import { DecodePool, type DecodeSource } from './decode-pool';
import type { DecodedPhoto } from './image-decode';
import type { ImageRecord } from './image-example';
import { FIT_POLICIES, fitBoxes, fitMask, isIdentityGeometry, type FitGeometry, type FitPolicy, type ImageSize } from './image-geometry';
import { forEachOrdered } from './ordered-window';
import { chooseImageSize, type ImageSizeOption } from './photo-size-choice';
import { WorkerShardCodec } from './shard-codec';
import { finishedShard, receiptKey, type ShardReceipt } from './shard-receipt';

export type PhotoSplitName = 'labeled' | 'val' | 'test' | 'unlabeled';

/** One photo to ingest, with its labels in the frame of the upright source image. */
export interface PhotoItem {
  /** The image file; for a bucket object (see `read`), what errors and skipped_files call it. */
  path: string;
  /** The image's bytes when it is no local file (a bucket object); without, the decode worker reads `path`. */
  read?: () => Promise<Uint8Array>;
  key: string;
  /** Classification label (set on labeled splits only). */
  label?: number;
  sourceId?: string;
  /** The upright size the annotation declares, and the file that declares it: checked after decoding. */
  declared?: { size: ImageSize; by: string; what: string };
  /** Detection labels: boxes as fractions of the upright source (an empty list is an image with no objects). */
  objects?: BoxObject[];
  /** Segmentation labels: the mask file, and its class mask at the source size (load throws InputError(file, ...) when it is bad). */
  mask?: { path: string; load: (source: ImageSize) => Uint8Array };
}

/**
 * A split's items: an array, or anything that hands out a slice of them (ingestImages makes one shard's
 * items at a time from its compact file tables, so a split of millions of files is never held as objects).
 */
export interface PhotoItems {
  readonly length: number;
  slice(start: number, end: number): PhotoItem[];
}

export interface PhotoSplit {
  name: PhotoSplitName;
  items: PhotoItems;
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
  /** Items decoded, skipped or found in a finished shard, out of all the splits' items. */
  onProgress?: (done: number, total: number) => void;
  /**
   * A digest of every input's content, when the caller has one (ingestImages reads every file to key its
   * dataset); without it, each input file's size and modification time stand for its content, as they do
   * for make and rsync.
   */
  contentDigest?: string;
}

/** The shards written (or found finished) and what the manifest needs of them. */
export interface PhotoShardsResult {
  splits: Split[];
  /** Pixel statistics of the labeled split's photos (letterbox padding left out). */
  labeledStats: ChannelStats;
  /** The caller's skipped files, then those the decoder refused, in order. */
  skipped: SkippedFile[];
  /** Boxes that fell wholly outside the fitted image (center-crop) and were dropped. */
  droppedBoxes: number;
  /** Records whose image was resized (they keep their original size). */
  resized: number;
  /** Keys of the shards a previous run had finished and this one reused. */
  reusedShards: string[];
}

export interface PhotoWriteResult extends WriteDatasetResult {
  droppedBoxes: number;
  resized: number;
  reusedShards: string[];
}

/** Raw pixels per shard the default shard size aims at: 256 small images, fewer large ones. */
export const SHARD_TARGET_BYTES = 48 * 1024 * 1024;

/**
 * Decodes in flight: enough queued that no worker waits while results are taken in order and shards are
 * encoded and put (64 a thread: small images, where a thread decodes hundreds a second), bounded by their
 * pixels (large photos), and never under one batch a thread.
 */
const IN_FLIGHT_PER_THREAD = { min: 16, max: 64 };
const IN_FLIGHT_BYTES = 64 * 2 ** 20;

/**
 * From this many pixels an image's PNG is made by libvips (sharp, on its own threads, as the photo arrives)
 * instead of pngjs on the shard codec's worker. Measured on the 2-core machine: 32x32 RGB 0.44 ms pngjs
 * against 1.7 ms sharp (per-call overhead), 128x128 about even, 256x256 3.7 ms against 2.8 ms and a
 * twelfth of the size.
 */
const SHARP_PNG_MIN_PIXELS = 128 * 128;

/** Bump when the records or receipts this writer makes change, so no older run's shard is reused. */
const WRITER_VERSION = 2;

/** The record count per shard for images of `size` when the user gives none. */
export function defaultPhotoShardSize(size: ImageSize, channels: number): number {
  return Math.max(16, Math.min(256, Math.floor(SHARD_TARGET_BYTES / (size.height * size.width * channels))));
}

/** Shard keys name the split, the index and the digest of the shard's inputs. */
export function photoShardKey(prefix: string, split: string, index: number, digest: string): string {
  return `${prefix}/${split}/${split}-${String(index).padStart(5, '0')}-${digest.slice(0, 16)}.tfrecord`;
}

/** writePhotoShards, a check that some labeled image was usable, then the manifest. */
export async function writePhotoDataset(
  store: ObjectStore,
  prefix: string,
  desc: Omit<DatasetDescription, 'height' | 'width' | 'channels'>,
  splits: PhotoSplit[],
  opts: PhotoWriteOptions,
): Promise<PhotoWriteResult> {
  const w = await writePhotoShards(store, prefix, desc, splits, opts);
  const labeledSplit = w.splits.find((s) => s.name === 'labeled');
  if (!labeledSplit || labeledSplit.records === 0) {
    const s = w.skipped;
    throw new InputError(desc.source, `no usable labeled image${s.length > 0 ? ` (${s.length} file(s) skipped, e.g. ${s[0].file}: ${s[0].reason})` : ''}`);
  }
  const result = await publishManifest(store, prefix, manifestFields(desc, opts, w), w.splits);
  return { ...result, droppedBoxes: w.droppedBoxes, resized: w.resized, reusedShards: w.reusedShards };
}

/** The manifest's description of a dataset writePhotoShards wrote. */
export function manifestFields(desc: Omit<DatasetDescription, 'height' | 'width' | 'channels'>, opts: PhotoWriteOptions, w: PhotoShardsResult): DatasetDescription {
  const { mean, std } = w.labeledStats.moments();
  return {
    ...desc,
    height: opts.size.height,
    width: opts.size.width,
    channels: opts.channels,
    channelMean: mean,
    channelStd: std,
    resizePolicy: w.resized > 0 ? opts.fit : '',
    skippedFiles: w.skipped,
  };
}

/**
 * Every split's shards (an empty split other than labeled is left out), each followed by its receipt;
 * no manifest. A shard whose receipt and object a previous run left is reused as it is. On failure what
 * this run finished stays for the next run to reuse, and nothing that was in the bucket is changed.
 */
export async function writePhotoShards(
  store: ObjectStore,
  prefix: string,
  desc: Omit<DatasetDescription, 'height' | 'width' | 'channels'>,
  splits: PhotoSplit[],
  opts: PhotoWriteOptions,
): Promise<PhotoShardsResult> {
  const { size, channels } = opts;
  const shardSize = opts.shardSize ?? defaultPhotoShardSize(size, channels);
  if (!(Number.isInteger(shardSize) && shardSize >= 1)) throw new InputError('shardSize', `must be a positive integer, got ${shardSize}`);
  const ignore = desc.ignoreLabel ?? 255;
  const pool = opts.pool ?? new DecodePool();
  const codec = new WorkerShardCodec();
  // What every shard's content depends on besides its items.
  const settings = JSON.stringify({
    v: WRITER_VERSION, size, fit: opts.fit, channels, task: desc.task, classes: desc.classNames.length, ignore, content: opts.contentDigest ?? null,
  });
  const total = splits.reduce((n, s) => n + s.items.length, 0);
  let done = 0;
  const out: PhotoShardsResult = { splits: [], labeledStats: new ChannelStats(channels), skipped: [...(opts.skipped ?? [])], droppedBoxes: 0, resized: 0, reusedShards: [] };
  let pendingWrite: Promise<void> = Promise.resolve();
  try {
    for (const split of splits) {
      // An empty split says nothing; labeled is listed always, as every dataset has one.
      if (split.items.length === 0 && split.name !== 'labeled') continue;
      const labeled = split.name !== 'unlabeled';
      const count = Math.ceil(split.items.length / shardSize);
      const shards: Shard[] = [];
      const classCounts = new Array<number>(desc.classNames.length).fill(0);
      for (let s = 0; s < count; s++) {
        const items = split.items.slice(s * shardSize, (s + 1) * shardSize);
        const digest = await shardDigest(settings, split.name, s, items, opts.contentDigest !== undefined);
        const key = photoShardKey(prefix, split.name, s, digest);
        const finished = await finishedShard(store, prefix, key, digest);
        // A shard that skipped files is only good for a run that skips them too.
        let receipt: ShardReceipt;
        if (finished && (opts.skipBad || finished.skipped.length === 0)) {
          receipt = finished;
          out.reusedShards.push(key);
          done += items.length;
          opts.onProgress?.(done, total);
        } else {
          const shard = await decodeShard(pool, items, { split: split.name, desc, ignore, opts }, () => opts.onProgress?.(++done, total));
          receipt = { digest, shard: { key, records: shard.records.length, sha256: '', sizeBytes: 0 }, ...shard.summary };
          // The next shard decodes while this one is encoded and put; one write in flight bounds memory.
          await pendingWrite;
          pendingWrite = putShard(store, prefix, codec, receipt, shard.records);
          // Surfaced by the next await; until then a failure must not count as unhandled.
          pendingWrite.catch(() => {});
        }
        // The receipt's shard is filled in place once written; the manifest reads it after the last write.
        shards.push(receipt.shard);
        if (labeled) receipt.classCounts.forEach((n, c) => (classCounts[c] += n));
        if (receipt.stats) out.labeledStats.merge(ChannelStats.fromSums(receipt.stats));
        out.skipped.push(...receipt.skipped);
        out.droppedBoxes += receipt.droppedBoxes;
        out.resized += receipt.resized;
      }
      out.splits.push({ name: split.name, records: 0, shards, classCounts: labeled ? classCounts : [], labeled });
    }
    await pendingWrite;
  } finally {
    await pendingWrite.catch(() => {});
    await codec.close();
    if (!opts.pool) await pool.close();
  }
  for (const split of out.splits) {
    // A shard whose every file was skipped has a receipt but no object.
    split.shards = split.shards.filter((sh) => sh.records > 0);
    split.records = split.shards.reduce((n, sh) => n + sh.records, 0);
  }
  return out;
}

/**
 * The digest of what makes a shard: the settings, its place, each item (file, key, labels) and each input
 * file's identity (the caller's content digest covers it, or the file's size and modification time).
 */
async function shardDigest(settings: string, split: string, index: number, items: PhotoItem[], contentKnown: boolean): Promise<string> {
  const h = createHash('sha256').update(settings).update(`\n${split}/${index}\n`);
  const identity = async (file: string) => {
    const st = await stat(file).catch(() => undefined);
    return st ? `${st.size}@${st.mtimeMs}` : 'missing';
  };
  const ids = contentKnown ? [] : await Promise.all(items.map(async (it) => [it.read ? 'object' : await identity(it.path), it.mask ? await identity(it.mask.path) : '']));
  items.forEach((it, i) => {
    h.update(JSON.stringify([it.path, it.key, it.label ?? null, it.sourceId ?? null, it.declared ?? null, it.objects ?? null, it.mask?.path ?? null, ids[i] ?? null]));
    h.update('\n');
  });
  return h.digest('hex');
}

interface DecodedShard {
  records: ImageRecord[];
  summary: Omit<ShardReceipt, 'digest' | 'shard'>;
}

/** The shard's photos decoded and fitted, in order, as records; bad files thrown or (skipBad) listed. */
async function decodeShard(
  pool: DecodePool,
  items: PhotoItem[],
  ctx: { split: PhotoSplitName; desc: Omit<DatasetDescription, 'height' | 'width' | 'channels'>; ignore: number; opts: PhotoWriteOptions },
  onItem: () => void,
): Promise<DecodedShard> {
  const { split, desc, ignore, opts } = ctx;
  const labeled = split !== 'unlabeled';
  const stats = split === 'labeled' ? new ChannelStats(opts.channels) : undefined;
  const summary: DecodedShard['summary'] = { classCounts: labeled ? new Array<number>(desc.classNames.length).fill(0) : [], skipped: [], droppedBoxes: 0, resized: 0 };
  const records: ImageRecord[] = [];
  const decodeOpts = { channels: opts.channels, size: opts.size, fit: opts.fit };
  const perThread = Math.floor(IN_FLIGHT_BYTES / pool.threads / (opts.size.height * opts.size.width * opts.channels));
  await forEachOrdered(
    items.length,
    pool.threads * Math.min(IN_FLIGHT_PER_THREAD.max, Math.max(IN_FLIGHT_PER_THREAD.min, perThread)),
    async (i) => {
      const item = items[i];
      const source: DecodeSource = item.read ? { bytes: await item.read(), where: item.path } : item.path;
      // Failures come back as values, so a bad file can be skipped in order.
      return pool.decode(source, decodeOpts).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
    },
    (photo, i) => {
      onItem();
      let rec: ImageRecord;
      try {
        if (photo instanceof Error) throw photo;
        rec = toRecord(items[i], photo, labeled, ignore, summary);
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        skipOrThrow(err, opts.skipBad, summary.skipped);
        return;
      }
      if (!isIdentityGeometry(photo.geometry)) summary.resized++;
      if (labeled) countClasses(summary.classCounts, rec, desc.task, ignore);
      if (stats) addContent(stats, rec.image, photo.geometry, opts.channels);
      records.push(rec);
    },
  );
  if (stats) summary.stats = stats.toSums();
  return { records, summary };
}

function toRecord(item: PhotoItem, photo: DecodedPhoto, labeled: boolean, ignore: number, summary: { droppedBoxes: number }): ImageRecord {
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
  if (labeled && item.label !== undefined) rec.label = item.label;
  if (item.objects) {
    const fitted = fitBoxes(item.objects, g);
    summary.droppedBoxes += item.objects.length - fitted.boxes.length;
    rec.objects = fitted.boxes;
  }
  if (item.mask) rec.mask = fitMask(item.mask.load(source), g, ignore);
  return rec;
}

/** The shard's object, then its receipt (a receipt names only a shard that is there). An empty shard gets a receipt alone. */
async function putShard(store: ObjectStore, prefix: string, codec: WorkerShardCodec, receipt: ShardReceipt, records: ImageRecord[]): Promise<void> {
  if (records.length > 0) {
    await Promise.all(records.map(async (rec) => {
      if (rec.height * rec.width >= SHARP_PNG_MIN_PIXELS) rec.encoded = await encodePng(rec);
    }));
    const art = await store.put(receipt.shard.key, await codec.write(records));
    Object.assign(receipt.shard, { key: art.key, sha256: art.sha256, sizeBytes: art.sizeBytes });
  }
  await store.putJson(receiptKey(prefix, receipt.shard.key), receipt);
}

/**
 * A large record's PNG, compressed by libvips on its own threads (pngjs would be the ingest's bottleneck on
 * large photos). Level 3 with adaptive filtering: within ~20 % of pngjs' size at a fraction of level 6's time.
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
