// A user's own photos -> a classification dataset in the bucket. Labeled and test are ImageFolder trees
// (one subfolder per class); unlabeled is any tree of images or a bucket prefix of raw images. Three passes,
// memory bounded by a shard whatever the file count:
//   1. scan: list and read every file once, in order: the content digest that keys the dataset, and every
//      check the bytes allow (empty, not an image, unsupported format, too small) before anything is written;
//   2. plan: splits drawn from the file lists (seeded, per class), 4 bytes a file;
//   3. shards: the photo dataset writer (photo-dataset-writer.ts) decodes and resizes them on every core,
//      writes each shard with its receipt, and reuses the shards a crashed run finished; the manifest last.
// A rerun of the same files and options reuses the finished dataset, or every finished shard after a crash.
// What grows with the file count is kept small: the listings are FileTables (~8 bytes a file plus its name),
// the plan typed arrays of refs, the writer's items are made a shard at a time, and the receipts carry no
// per-file data (the hidden labels are written from the plan at the end).
import { createHash } from 'node:crypto';
import { ConflictError, InputError } from '@selftrain/errors';
import { DatasetManifest, type Artifact, type SkippedFile } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';
import { publishManifest } from './dataset-writer';
import { DecodePool } from './decode-pool';
import { FileTable } from './file-table';
import { FIT_POLICIES, type FitPolicy, type ImageSize } from './image-geometry';
import { HeaderSurvey, scanRoot } from './image-scan';
import { bucketRoot, directoryRoot, listBucket, listImageFolder, listTree, parseS3Url, type ImageRoot } from './image-sources';
import { planSplits, type FileRefs } from './image-split-plan';
import { hiddenLabelsKey } from './ingest-fashion-mnist';
import { manifestKey } from './manifest';
import { manifestFields, writePhotoShards, type PhotoItem, type PhotoItems, type PhotoShardsResult, type PhotoWriteOptions } from './photo-dataset-writer';

export interface IngestImagesOptions {
  /** ImageFolder: one subfolder per class; class names are the folder names, sorted. */
  labeledDir: string;
  /** Each a directory tree of images, or s3://BUCKET/PREFIX of raw images on the configured endpoint. */
  unlabeled?: string[];
  /** ImageFolder with (a subset of) the labeled classes; a class not among them is an error. */
  testDir?: string;
  /** Keep N per class as labeled; the rest of the labeled folder joins unlabeled with its labels hidden but kept. Default: all. */
  labelsPerClass?: number;
  /** Held out of the labeled folder per class for validation. Default: 50 (as Fashion-MNIST), at most a tenth of the smallest class. */
  valPerClass?: number;
  /** Default: the labeled images' size when they all share one, else an error asking for it. */
  imageSize?: ImageSize;
  /** How images of another size are fitted (default DEFAULT_CLASSIFICATION_FIT). */
  resizePolicy?: FitPolicy;
  /** Default: 3 unless every labeled image is grey. */
  channels?: 1 | 3;
  seed?: number;
  /** Default `datasets/images-<digest>`, the digest of the files (relative paths, sizes, contents) and the options. */
  prefix?: string;
  /** Leave bad files out (listed in the manifest's skipped_files) instead of failing on the first. */
  skipBad?: boolean;
  /** Records per shard (default: 2048, fewer for large images, so a shard's pixels stay near 32 MiB). */
  shardSize?: number;
  /** Files scanned plus files decoded, out of twice the files listed. */
  onProgress?: (done: number, total: number) => void;
  /** A store on another bucket, for an s3:// source outside `store`'s bucket (the CLI connects one with the same endpoint and credentials). */
  openBucket?: (bucket: string) => Promise<ObjectStore & { close?(): void }>;
  /** Decode threads (default: every core). */
  decodeThreads?: number;
}

export interface IngestImagesResult {
  manifestArtifact: Artifact;
  manifest: DatasetManifest;
  /** True when the same files and options were already ingested at the prefix and nothing was written. */
  reused: boolean;
  prefix: string;
}

/**
 * Center-crop: what ImageNet-style evaluation does (resize, then crop the centre). It keeps the aspect
 * ratio, so shapes look as the camera saw them at every size, and the subject of a classification photo is
 * usually central; the margins it cuts are what a stretch would have squeezed. Letterbox (the detection
 * default) would feed the model bands of padding it must learn to ignore.
 */
export const DEFAULT_CLASSIFICATION_FIT: FitPolicy = 'center-crop';

/** Raw pixel bytes a shard aims at when shardSize is not given. */
const SHARD_PIXEL_BYTES = 32 * 2 ** 20;
const MAX_SHARD_RECORDS = 2048;
/** Progress is reported every this many files (a terminal redraw per file would cost more than the decode). */
const PROGRESS_EVERY = 256;
/** Bump when the records an ingest writes change, so old datasets are not reused for new code. */
const FORMAT_VERSION = 1;

export const imagesIngestKey = (prefix: string) => `${prefix}/ingest-images.json`;

interface Root {
  tag: string;
  root: ImageRoot;
  files: FileTable;
  /** Refs of this root's files start here (see FileRefs). */
  base: number;
  survey?: HeaderSurvey;
}

export async function ingestImages(store: ObjectStore, o: IngestImagesOptions): Promise<IngestImagesResult> {
  const opts = checkOptions(o);
  const opened: (ObjectStore & { close?(): void })[] = [];
  try {
    // 1. List and scan.
    const labeled = await listImageFolder(o.labeledDir, 'labeledDir');
    const classNames = labeled.classNames;
    const roots: Root[] = [{ tag: 'labeled', root: directoryRoot(o.labeledDir), files: labeled.files, base: 0, survey: new HeaderSurvey() }];
    if (o.testDir !== undefined) {
      const test = await listImageFolder(o.testDir, 'testDir');
      const unknown = test.classNames.find((c) => !classNames.includes(c));
      if (unknown !== undefined) throw new InputError(`${o.testDir}/${unknown}`, `test class ${unknown} is not among the labeled classes (${classNames.join(', ')})`);
      test.files.relabel((label) => classNames.indexOf(test.classNames[label]));
      roots.push({ tag: 'test', root: directoryRoot(o.testDir), files: test.files, base: 0 });
    }
    for (const [i, source] of (o.unlabeled ?? []).entries()) {
      const field = `unlabeled[${i}]`;
      const loc = parseS3Url(source);
      let root: ImageRoot;
      const files = new FileTable();
      if (loc) {
        const bucket = await bucketStore(store, loc.bucket, o.openBucket, opened);
        root = bucketRoot(bucket, loc);
        await listBucket(bucket, loc, files);
      } else {
        root = directoryRoot(source);
        await listTree(source, field, files);
      }
      if (files.length === 0) throw new InputError(field, `no files in ${source}`);
      roots.push({ tag: `unlabeled-${i}`, root, files, base: 0 });
    }
    const listed = roots.reduce((n, r) => n + r.files.length, 0);
    const total = 2 * listed;
    let done = 0;
    const tick = (n = 1) => {
      const before = done;
      done += n;
      if (Math.floor(done / PROGRESS_EVERY) !== Math.floor(before / PROGRESS_EVERY)) o.onProgress?.(done, total);
    };
    o.onProgress?.(0, total);

    const digest = createHash('sha256').update(JSON.stringify({ v: FORMAT_VERSION, ...opts, roots: roots.map((r) => r.tag) }));
    const scanSkipped: SkippedFile[] = [];
    let base = 0;
    for (const r of roots) {
      r.files = await scanRoot(r.root, r.files, { tag: r.tag, digest, skipBad: opts.skipBad, skipped: scanSkipped, survey: r.survey, onFile: () => tick() });
      r.base = base;
      base += r.files.length;
    }
    tick(scanSkipped.length);
    const contentDigest = digest.digest('hex');
    const prefix = o.prefix ?? `datasets/images-${contentDigest.slice(0, 16)}`;

    const existing = await existingDataset(store, prefix, contentDigest);
    if (existing) return existing;

    // 2. Geometry and splits.
    const survey = roots[0].survey!;
    const size = opts.imageSize ?? defaultSize(survey);
    const channels = opts.channels ?? (survey.allGrey ? 1 : 3);
    const shardSize = opts.shardSize ?? Math.max(1, Math.min(MAX_SHARD_RECORDS, Math.floor(SHARD_PIXEL_BYTES / (size.height * size.width * channels))));
    const range = (r: Root) => ({ base: r.base, count: r.files.length });
    const testRoot = roots.find((r) => r.tag === 'test');
    const plan = planSplits(roots[0], classNames, testRoot && range(testRoot), roots.filter((r) => r.tag.startsWith('unlabeled-')).map(range), {
      labelsPerClass: opts.labelsPerClass, valPerClass: opts.valPerClass, seed: opts.seed,
    });
    const files = new FileSet(roots);

    // 3. Shards, receipts, then the manifest.
    const pool = new DecodePool({ threads: o.decodeThreads });
    const decodeBase = done;
    const write: PhotoWriteOptions = {
      size, channels, fit: opts.resizePolicy, skipBad: opts.skipBad, skipped: scanSkipped, shardSize, pool, contentDigest,
      onProgress: (d) => tick(decodeBase + d - done),
    };
    const desc = {
      name: prefix.split('/').at(-1)!, source: `images:${o.labeledDir}`, task: 'classification' as const, classNames, seed: opts.seed, labelsPerClass: plan.labelsPerClass,
    };
    const splits = (['labeled', 'val', 'test', 'unlabeled'] as const).map((name) => ({ name, items: files.items(plan[name], name !== 'unlabeled') }));
    let written: PhotoShardsResult;
    try {
      written = await writePhotoShards(store, prefix, desc, splits, write);
    } finally {
      await pool.close();
    }
    o.onProgress?.(total, total);

    const hidden = hiddenLabelsJson(files, plan.unlabeled, classNames, new Set(written.skipped.map((f) => f.file)));
    if (hidden) await store.put(hiddenLabelsKey(prefix), hidden, 'application/json');
    await store.putJson(imagesIngestKey(prefix), {
      digest: contentDigest, options: opts, size, channels, shardSize,
      sources: { labeled: o.labeledDir, test: o.testDir ?? null, unlabeled: o.unlabeled ?? [] },
    });
    const { manifest, manifestArtifact } = await publishManifest(store, prefix, manifestFields(desc, write, written), written.splits);
    return { manifest, manifestArtifact, reused: false, prefix };
  } finally {
    for (const s of opened) s.close?.();
  }
}

interface CheckedOptions {
  labelsPerClass?: number;
  valPerClass?: number;
  imageSize?: ImageSize;
  resizePolicy: FitPolicy;
  channels?: 1 | 3;
  seed: number;
  skipBad: boolean;
  shardSize?: number;
}

/** The options that decide the content, checked; what goes into the digest. */
function checkOptions(o: IngestImagesOptions): CheckedOptions {
  const int = (field: string, v: number | undefined, min: number, max = 2 ** 31 - 1): number | undefined => {
    if (v === undefined) return undefined;
    if (!Number.isInteger(v) || v < min || v > max) throw new InputError(field, `must be an integer in [${min}, ${max}], got ${v}`);
    return v;
  };
  if (o.resizePolicy !== undefined && !FIT_POLICIES.includes(o.resizePolicy)) throw new InputError('resizePolicy', `must be one of ${FIT_POLICIES.join(', ')}, got ${JSON.stringify(o.resizePolicy)}`);
  if (o.channels !== undefined && o.channels !== 1 && o.channels !== 3) throw new InputError('channels', `must be 1 or 3, got ${o.channels}`);
  if (o.prefix !== undefined && (o.prefix === '' || o.prefix.startsWith('/') || o.prefix.endsWith('/') || o.prefix.split('/').includes('..'))) {
    throw new InputError('prefix', `invalid key prefix ${JSON.stringify(o.prefix)}`);
  }
  for (const [i, u] of (o.unlabeled ?? []).entries()) {
    if (u.startsWith('s3:') && !parseS3Url(u)?.bucket) throw new InputError(`unlabeled[${i}]`, `${JSON.stringify(u)} is not s3://BUCKET/PREFIX`);
  }
  const imageSize = o.imageSize && { height: int('imageSize.height', o.imageSize.height, 1, 4096)!, width: int('imageSize.width', o.imageSize.width, 1, 4096)! };
  return {
    labelsPerClass: int('labelsPerClass', o.labelsPerClass, 1),
    valPerClass: int('valPerClass', o.valPerClass, 0),
    imageSize,
    resizePolicy: o.resizePolicy ?? DEFAULT_CLASSIFICATION_FIT,
    channels: o.channels,
    seed: int('seed', o.seed, 0) ?? 0,
    skipBad: o.skipBad ?? false,
    shardSize: int('shardSize', o.shardSize, 1),
  };
}

function defaultSize(survey: HeaderSurvey): ImageSize {
  const m = survey.mismatch;
  if (m) {
    throw new InputError('imageSize', `the labeled images differ in size (${m.first} is ${survey.size!.width}x${survey.size!.height}, ${m.file} is ${m.width}x${m.height}); give --image-size N or HxW`);
  }
  if (!survey.size) throw new InputError('imageSize', 'no labeled image header could be read to find the size; give --image-size N or HxW');
  return survey.size;
}

/** A store for `bucket`: `store` itself when it is that bucket with no key prefix of its own, else one from openBucket. */
async function bucketStore(store: ObjectStore, bucket: string, open: IngestImagesOptions['openBucket'], opened: ObjectStore[]): Promise<ObjectStore> {
  if (bucket === store.bucket && ((store as { prefix?: string }).prefix ?? '') === '') return store;
  if (!open) throw new InputError('unlabeled', `s3://${bucket}/ is not the dataset's bucket (${store.bucket}) and no way to open another bucket was given`);
  const s = await open(bucket);
  opened.push(s);
  return s;
}

async function existingDataset(store: ObjectStore, prefix: string, digest: string): Promise<IngestImagesResult | undefined> {
  const stat = await store.stat(manifestKey(prefix));
  if (!stat) return undefined;
  const record = (await store.exists(imagesIngestKey(prefix))) ? await store.getJson<{ digest?: string }>(imagesIngestKey(prefix)) : {};
  if (record.digest !== digest) {
    throw new ConflictError(`dataset ${prefix} already exists with other content (${record.digest ? `digest ${record.digest.slice(0, 16)}, these files and options give ${digest.slice(0, 16)}` : 'not written by an image ingest'}); choose another prefix`);
  }
  return {
    manifest: DatasetManifest.fromJSON(await store.getJson(manifestKey(prefix))),
    manifestArtifact: { key: stat.key, sha256: stat.sha256, sizeBytes: stat.sizeBytes },
    reused: true,
    prefix,
  };
}

/** The ingest's roots numbered one after another: a FileRefs ref to its root, path, class and record key. */
class FileSet {
  constructor(private readonly roots: Root[]) {}

  rootOf(ref: number): Root {
    // A handful of roots, in ref order: the last whose base is at or below the ref.
    let r = this.roots[0];
    for (const root of this.roots) if (root.base <= ref && root.files.length > 0) r = root;
    return r;
  }

  rel(ref: number): string {
    const r = this.rootOf(ref);
    return r.files.rel(ref - r.base);
  }

  label(ref: number): number {
    const r = this.rootOf(ref);
    return r.files.label(ref - r.base);
  }

  describe(ref: number): string {
    return this.rootOf(ref).root.describe(this.rel(ref));
  }

  /** Record keys name the file by its root's role and relative path: stable across machines, unique in the dataset. */
  recordKey(ref: number): string {
    return `${this.rootOf(ref).tag}/${this.rel(ref)}`;
  }

  /** A split's refs as the writer's items, made a shard at a time; labels only where the split shows them. */
  items(refs: FileRefs, withLabels: boolean): PhotoItems {
    const item = (ref: number): PhotoItem => {
      const { root } = this.rootOf(ref);
      const rel = this.rel(ref);
      return {
        path: root.describe(rel),
        // A local file is read by the decode worker itself.
        read: root.localPath ? undefined : () => root.read(rel),
        key: this.recordKey(ref),
        label: withLabels ? this.label(ref) : undefined,
      };
    };
    return { length: refs.length, slice: (start, end) => Array.from(refs.subarray(start, end), item) };
  }
}

/**
 * The hidden labels file of the unlabeled split (the labeled folder's files sent there, minus those the
 * decoder skipped), written from the plan as JSON text: one object per file would cost what the plan saves.
 * The same bytes as JSON.stringify({ split, classNames, labels }) with the labels in the split's order.
 */
function hiddenLabelsJson(files: FileSet, unlabeled: FileRefs, classNames: string[], skipped: Set<string>): Buffer | undefined {
  let out = Buffer.alloc(1 << 16);
  let at = out.write(`{"split":"unlabeled","classNames":${JSON.stringify(classNames)},"labels":{`);
  let any = false;
  for (const ref of unlabeled) {
    const label = files.label(ref);
    if (label < 0 || skipped.has(files.describe(ref))) continue;
    const entry = `${any ? ',' : ''}${JSON.stringify(files.recordKey(ref))}:${label}`;
    const need = Buffer.byteLength(entry) + 2;
    if (at + need > out.length) {
      const bigger = Buffer.alloc(Math.max(2 * out.length, at + need));
      out.copy(bigger, 0, 0, at);
      out = bigger;
    }
    at += out.write(entry, at);
    any = true;
  }
  if (!any) return undefined;
  at += out.write('}}', at);
  return out.subarray(0, at);
}
