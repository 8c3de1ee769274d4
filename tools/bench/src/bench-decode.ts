// Decode + resize speed for users' photos: `node dist/bench-decode.js [CIFAR_JPEG_DIR] [--count N]`.
// Small: CIFAR-10's 32x32 JPEGs (a folder of them, searched recursively; without one, 32x32 JPEGs made
// here). Large: 640x480 JPEGs made here, fitted to 224x224. Each on one thread (one call at a time, as a
// plain loop would) and on the worker pool (every core). Then the 28x28 grey PNGs of the shard path:
// the hand-written fast decoder against sharp.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { DecodePool, decodeImage, decodeImageFile, decodePngFast, encodeMaskPng, type DecodeOptions } from '@selftrain/data';

/** A photo-like test image: smooth gradients plus seeded noise (neither trivially compressible nor pure noise). */
export function photo(width: number, height: number, seed: number): Buffer {
  const px = Buffer.alloc(width * height * 3);
  let s = seed * 2654435761 + 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      s = (s * 1103515245 + 12345) >>> 0;
      const n = (s >>> 24) % 32;
      const i = (y * width + x) * 3;
      px[i] = ((x * 255) / width + n) & 255;
      px[i + 1] = ((y * 255) / height + 2 * n) & 255;
      px[i + 2] = (((x + y) * 128) / (width + height) + seed * 7 + n) & 255;
    }
  }
  return px;
}

export async function writeJpegs(dir: string, count: number, width: number, height: number): Promise<string[]> {
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const f = path.join(dir, `${width}x${height}-${i}.jpg`);
    writeFileSync(f, await sharp(photo(width, height, i), { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer());
    files.push(f);
  }
  return files;
}

function jpegsUnder(dir: string, count: number): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (out.length >= count) return;
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (e.name.endsWith('.jpg')) out.push(path.join(d, e.name));
    }
  };
  walk(dir);
  return out;
}

async function timed(what: string, n: number, run: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await run();
  const s = (performance.now() - t0) / 1000;
  const rate = n / s;
  console.log(`  ${what.padEnd(44)} ${n} images in ${s.toFixed(2)} s: ${rate.toFixed(0)} img/s`);
  return rate;
}

async function benchFiles(title: string, files: string[], opts: DecodeOptions, pool: DecodePool): Promise<void> {
  console.log(`${title} (${files.length} files)`);
  // One pass of each to warm the file cache and start the workers.
  await Promise.all(files.slice(0, 64).map((f) => pool.decode(f, opts)));
  const one = await timed('1 thread, one call at a time', files.length, async () => {
    for (const f of files) await decodeImageFile(f, opts);
  });
  const many = await timed(`worker pool, ${pool.threads} threads`, files.length, () => Promise.all(files.map((f) => pool.decode(f, opts))));
  console.log(`  pool / 1 thread: ${(many / one).toFixed(2)}x`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const countAt = args.indexOf('--count');
  const count = countAt >= 0 ? Number(args[countAt + 1]) : 2000;
  const cifarDir = args.find((a, i) => !a.startsWith('--') && i !== countAt + 1);
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-decode-'));
  const pool = new DecodePool();
  console.log(`cores: ${availableParallelism()}, sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}`);
  try {
    const small = cifarDir ? jpegsUnder(cifarDir, count) : await writeJpegs(dir, count, 32, 32);
    await benchFiles(`small: ${cifarDir ? `CIFAR-10 JPEGs from ${cifarDir}` : '32x32 JPEGs made here'}, decoded at 32x32 RGB`, small, { channels: 3, size: { height: 32, width: 32 } }, pool);
    const large = await writeJpegs(dir, Math.max(16, Math.round(count / 10)), 640, 480);
    await benchFiles('large: 640x480 JPEGs, decoded and center-cropped to 224x224 RGB', large, { channels: 3, size: { height: 224, width: 224 }, fit: 'center-crop' }, pool);
    await benchFiles('large: 640x480 JPEGs, letterboxed to 320x320 RGB', large, { channels: 3, size: { height: 320, width: 320 }, fit: 'letterbox' }, pool);

    // The shard path: 28x28 grey PNGs already in memory.
    // Encoded as records are (pngjs, 8-bit grey), so the fast path takes them as it does in shards.
    const pngs = Array.from({ length: count }, (_, i) => encodeMaskPng(photo(28, 28, i).subarray(0, 28 * 28), 28, 28));
    console.log(`28x28 grey PNGs in memory (${pngs.length})`);
    const fast = await timed('hand-written decodePngFast, 1 thread', pngs.length, async () => {
      for (const p of pngs) if (!decodePngFast(p, 1)) throw new Error('fast path refused a plain grey PNG');
    });
    const viaSharp = await timed('sharp decodeImage, 1 thread, one at a time', pngs.length, async () => {
      for (const p of pngs) await decodeImage(p, 'png', { channels: 1 });
    });
    const viaPool = await timed(`sharp on the worker pool, ${pool.threads} threads`, pngs.length, () => Promise.all(pngs.map((p) => pool.decode({ bytes: p, where: 'png' }, { channels: 1 }))));
    console.log(`  fast path / sharp: ${(fast / viaSharp).toFixed(1)}x on one thread, ${(fast / viaPool).toFixed(1)}x against the whole pool`);
  } finally {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// Run directly (`node dist/bench-decode.js`); bench-images imports the helpers above.
if (require.main === module) void main();
