// Users' photos: decode + resize img/s for small (32x32) and large (640x480 -> 224x224) JPEGs on the
// DecodePool, and an image ingest's peak RSS at N and 10N files (flat = streaming; default N = 2,000), each
// ingest in a child process writing to an embedded S3 in this one. The folders are 32x32 JPEGs with one
// 640x480 JPEG in every hundred, resized to 32x32 by the ingest. Part of `npm run bench`; also runs alone:
//   node tools/bench/dist/bench-images.js [--files N] [--labeled DIR [--test DIR] [--labels-per-class N]]
// where --labeled times one ingest of a real ImageFolder (e.g. CIFAR-10's train folder, 50,000 JPEGs).
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DecodePool, type DecodeOptions, type IngestImagesOptions } from '@selftrain/data';
import { startEmbeddedS3, type EmbeddedS3 } from '@selftrain/storage';
import { writeJpegs } from './bench-decode';

export interface DecodeFigure {
  images: number;
  imgPerS: number;
}

export interface IngestFigure {
  files: number;
  records: number;
  seconds: number;
  cpuSeconds: number;
  peakRssMiB: number;
}

export interface ImagesBench {
  threads: number;
  decode: { small: DecodeFigure; large: DecodeFigure };
  ingest: IngestFigure[];
  /** Peak RSS at 10N files over N. */
  rssRatio: number;
  loadAverage: number[];
}

/** Unique JPEGs made per size; the 10N folder repeats them under other names (same bytes, other paths). */
const UNIQUE_SMALL = 500;
const UNIQUE_LARGE = 50;
/** One file in this many of the RSS folders is a 640x480 JPEG: a real folder's few large photos. */
const LARGE_EVERY = 100;
/**
 * Records per shard in the RSS runs: N files make 8 shards and 10N 80, as the labeler's RSS figure does, so
 * both runs hold the same shards in flight and only what grows with the file count can differ.
 */
const RSS_SHARD_SIZE = 125;

export async function benchImages(opts: { files?: number } = {}): Promise<ImagesBench> {
  const n = opts.files ?? 2000;
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-images-'));
  const pool = new DecodePool();
  const s3 = await startEmbeddedS3({ directory: path.join(dir, 's3'), port: 0 });
  try {
    const small = await writeJpegs(path.join(mkdirp(dir, 'small')), UNIQUE_SMALL, 32, 32);
    const large = await writeJpegs(path.join(mkdirp(dir, 'large')), UNIQUE_LARGE, 640, 480);
    const decode = {
      small: await decodeRate(pool, repeat(small, 2000), { channels: 3, size: { height: 32, width: 32 } }),
      large: await decodeRate(pool, repeat(large, 200), { channels: 3, size: { height: 224, width: 224 }, fit: 'center-crop' }),
    };
    const ingest: IngestFigure[] = [];
    for (const files of [n, 10 * n]) {
      // Ten classes, as CIFAR-10; every file its own name.
      const labeledDir = mkdirp(dir, `folder-${files}`);
      for (let c = 0; c < 10; c++) mkdirp(labeledDir, `class-${c}`);
      for (let i = 0; i < files; i++) {
        const source = i % LARGE_EVERY === LARGE_EVERY - 1 ? large[Math.floor(i / LARGE_EVERY) % large.length] : small[i % small.length];
        copyFileSync(source, path.join(labeledDir, `class-${i % 10}`, `${i}.jpg`));
      }
      ingest.push({ files, ...(await ingestInChild(s3, {
        labeledDir, labelsPerClass: Math.max(1, Math.floor(files / 100)), imageSize: { height: 32, width: 32 }, shardSize: RSS_SHARD_SIZE, prefix: `bench/images-${files}-${Date.now()}`,
      })) });
      rmSync(labeledDir, { recursive: true, force: true });
    }
    return { threads: pool.threads, decode, ingest, rssRatio: +(ingest[1].peakRssMiB / ingest[0].peakRssMiB).toFixed(3), loadAverage: loadavg().map((l) => +l.toFixed(2)) };
  } finally {
    await pool.close();
    await s3.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function imagesLines(b: ImagesBench): string[][] {
  return [
    [`decode + resize img/s, 32x32 JPEG -> 32x32 RGB, DecodePool ${b.threads} threads`, String(b.decode.small.imgPerS)],
    [`decode + resize img/s, 640x480 JPEG -> center-crop 224x224, DecodePool ${b.threads} threads`, String(b.decode.large.imgPerS)],
    ...b.ingest.map((f) => [`image ingest, ${f.files} JPEGs (32x32, 1 in ${LARGE_EVERY} 640x480; shards of ${RSS_SHARD_SIZE}): seconds (img/s), peak RSS`, `${f.seconds.toFixed(1)} s (${Math.round(f.records / f.seconds)}), ${f.peakRssMiB} MiB`]),
    ['  peak RSS 10N / N', `${b.rssRatio}x`],
  ];
}

async function decodeRate(pool: DecodePool, files: string[], opts: DecodeOptions): Promise<DecodeFigure> {
  await Promise.all(files.slice(0, 64).map((f) => pool.decode(f, opts)));
  const t0 = performance.now();
  await Promise.all(files.map((f) => pool.decode(f, opts)));
  return { images: files.length, imgPerS: Math.round(files.length / ((performance.now() - t0) / 1000)) };
}

function ingestInChild(s3: EmbeddedS3, opts: IngestImagesOptions): Promise<Omit<IngestFigure, 'files'>> {
  const c = s3.config;
  const env = { ...process.env, S3_ENDPOINT: `http://${c.endPoint}:${c.port}`, S3_BUCKET: c.bucket, S3_ACCESS_KEY: c.accessKey, S3_SECRET_KEY: c.secretKey };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(__dirname, 'bench-images-ingest-child.js'), JSON.stringify(opts)], { env, encoding: 'utf8', maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`image ingest child failed: ${stderr || err.message}`));
      const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as Omit<IngestFigure, 'files'>;
      resolve({ records: r.records, seconds: +r.seconds.toFixed(2), cpuSeconds: +r.cpuSeconds.toFixed(2), peakRssMiB: r.peakRssMiB });
    });
  });
}

function repeat<T>(xs: T[], count: number): T[] {
  return Array.from({ length: count }, (_, i) => xs[i % xs.length]);
}

function mkdirp(...parts: string[]): string {
  const d = path.join(...parts);
  mkdirSync(d, { recursive: true });
  return d;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { files: { type: 'string' }, labeled: { type: 'string' }, test: { type: 'string' }, 'labels-per-class': { type: 'string' } }, strict: true });
  console.log(`cores: ${availableParallelism()}, load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  if (values.labeled) {
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-images-'));
    const s3 = await startEmbeddedS3({ directory: path.join(dir, 's3'), port: 0 });
    try {
      const labelsPerClass = values['labels-per-class'] === undefined ? undefined : Number(values['labels-per-class']);
      const r = await ingestInChild(s3, { labeledDir: values.labeled, testDir: values.test, labelsPerClass, prefix: `bench/folder-${Date.now()}` });
      console.log(`ingest of ${values.labeled}${values.test ? ` + ${values.test}` : ''}: ${r.records} records in ${r.seconds} s (${Math.round(r.records / r.seconds)} img/s), ${r.cpuSeconds} CPU s, peak RSS ${r.peakRssMiB} MiB`);
    } finally {
      await s3.close();
      rmSync(dir, { recursive: true, force: true });
    }
  } else {
    const b = await benchImages({ files: values.files === undefined ? undefined : Number(values.files) });
    console.log(`${imagesLines(b).map(([k, v]) => `${k.padEnd(80)} ${v}`).join('\n')}\n\n${JSON.stringify(b, null, 2)}`);
  }
  console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
