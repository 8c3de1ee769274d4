import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '@selftrain/errors';
import { PNG } from 'pngjs';
import { ingestVocSegmentation, type IngestVocOptions } from './ingest-voc-segmentation';
import { loadManifest, splitOf, taskOf } from './manifest';
import { encodeMaskPng, encodePaletteMaskPng } from './mask-png';
import { readSplit } from './shard';
import { DecodePool } from './decode-pool';
import { fitGeometry } from './image-geometry';
import { bucketSnapshot, failedRunTrespasses } from './testing/bucket-snapshot';
import { writePhoto } from './testing/photo-fixtures';
import { MemoryObjectStore } from '@selftrain/storage';

// One pool for the file: starting workers (each loads libvips) is most of a small ingest's time.
const pool = new DecodePool({ threads: 2 });
after(() => pool.close());

const W = 12;
const H = 8;
const rgb = (w = W, h = H) => PNG.sync.write({ width: w, height: h, data: Buffer.alloc(w * h * 4, 128) } as PNG, { colorType: 2 });
const maskA = Uint8Array.from({ length: W * H }, (_, i) => (i < W ? 255 : i % 3)); // classes 0, 1, 2 and a 255 border row
const maskB = Uint8Array.from({ length: W * H }, (_, i) => (i % 2 ? 20 : 0));
const maskC = new Uint8Array(W * H).fill(15);

/** Images a, b, c with masks (grayscale, VOC palette, grayscale) and u without one; `edit` may break things. */
function fixture(dir: string, edit: (dir: string) => void = () => {}): IngestVocOptions {
  for (const d of ['JPEGImages', 'SegmentationClass']) mkdirSync(join(dir, d), { recursive: true });
  for (const n of ['a', 'b', 'c', 'u']) writeFileSync(join(dir, 'JPEGImages', `${n}.png`), rgb());
  writeFileSync(join(dir, 'SegmentationClass', 'a.png'), encodeMaskPng(maskA, H, W));
  writeFileSync(join(dir, 'SegmentationClass', 'b.png'), encodePaletteMaskPng(maskB, H, W));
  writeFileSync(join(dir, 'SegmentationClass', 'c.png'), encodeMaskPng(maskC, H, W));
  edit(dir);
  return { pool, imageDir: join(dir, 'JPEGImages'), maskDir: join(dir, 'SegmentationClass'), prefix: 'ds/voc', splits: { labeled: ['a', 'b'], test: ['c'] } };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'voc-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true });
  }
}

test('VOC ingest: grayscale and palette masks keep their class ids and 255; images without a mask are unlabeled', () =>
  withDir(async (dir) => {
    const store = new MemoryObjectStore();
    const { manifest } = await ingestVocSegmentation(store, fixture(dir));
    assert.equal(taskOf(manifest), 'segmentation');
    assert.equal(manifest.ignoreLabel, 255);
    assert.equal(manifest.classNames.length, 21);
    assert.deepEqual(manifest.splits.map((s) => [s.name, s.records, s.labeled]), [['labeled', 2, true], ['test', 1, true], ['unlabeled', 1, false]]);
    // Records showing each class: a has 0, 1, 2; b has 0 and 20; the ignore label is not a class.
    const counts = new Array(21).fill(0);
    counts[0] = 2; counts[1] = 1; counts[2] = 1; counts[20] = 1;
    assert.deepEqual(splitOf(manifest, 'labeled').classCounts, counts);
    assert.deepEqual(await loadManifest(store, 'ds/voc'), manifest);
    const labeled = await readSplit(store, manifest, 'labeled');
    assert.deepEqual(labeled.map((r) => r.key), ['a', 'b']);
    assert.deepEqual(labeled[0].mask, maskA);
    assert.deepEqual(labeled[1].mask, maskB);
    assert.deepEqual((await readSplit(store, manifest, 'test'))[0].mask, maskC);
    const unlabeled = await readSplit(store, manifest, 'unlabeled');
    assert.deepEqual(unlabeled.map((r) => [r.key, r.mask]), [['u', undefined]]);
  }));

test('bad VOC input names the mask file and touches nothing already in the bucket', async () => {
  const mask = (d: string, n: string) => join(d, 'SegmentationClass', n);
  const cases: [string, (d: string) => void, (d: string) => string, RegExp][] = [
    ['mask of the wrong size', (d) => writeFileSync(mask(d, 'b.png'), encodeMaskPng(new Uint8Array(12), 3, 4)), (d) => mask(d, 'b.png'), /mask is 4x3, image b\.png is 12x8/],
    ['JPEG mask', (d) => writeFileSync(mask(d, 'b.png'), Buffer.from([0xff, 0xd8, 0xff, 0xdb])), (d) => mask(d, 'b.png'), /mask is a JPEG; masks must be PNG/],
    ['not an image at all', (d) => writeFileSync(mask(d, 'b.png'), 'hello'), (d) => mask(d, 'b.png'), /bad mask \(image b\): not a PNG/],
    ['RGB mask', (d) => writeFileSync(mask(d, 'b.png'), rgb()), (d) => mask(d, 'b.png'), /colour type 2 is not a class mask/],
    ['class out of range', (d) => writeFileSync(mask(d, 'c.png'), encodeMaskPng(Uint8Array.from({ length: W * H }, (_, i) => (i === 15 ? 21 : 0)), H, W)), (d) => mask(d, 'c.png'), /pixel \(3, 1\) has class 21; classes are 0\.\.20 and 255 = ignore/],
    ['mask without an image', (d) => writeFileSync(mask(d, 'z.png'), encodeMaskPng(new Uint8Array(W * H), H, W)), (d) => mask(d, 'z.png'), /mask has no image z\.\*/],
  ];
  for (const [name, edit, fileOf, message] of cases) {
    await withDir(async (dir) => {
      const opts = fixture(dir, edit);
      // A dataset already at the prefix; one record per shard, so shards go out before the bad file is met.
      const store = new MemoryObjectStore();
      await ingestVocSegmentation(store, { ...fixture(join(dir, 'old')), prefix: opts.prefix });
      const before = await bucketSnapshot(store);
      await assert.rejects(ingestVocSegmentation(store, { ...opts, shardSize: 1 }), (e: unknown) => e instanceof InputError && e.field === fileOf(dir) && message.test(e.message), name);
      assert.deepEqual(failedRunTrespasses(before, await bucketSnapshot(store)), [], `${name}: every object already in the bucket is as it was`);
      if (name === 'mask without an image') return; // a stray mask names no image to leave out
      const { manifest } = await ingestVocSegmentation(store, { ...opts, skipBad: true, splits: undefined, valFraction: 0, testFraction: 0 });
      assert.deepEqual(manifest.skippedFiles.map((f) => f.file), [fileOf(dir)], name);
      assert.match(`${manifest.skippedFiles[0].file}: ${manifest.skippedFiles[0].reason}`, message, name);
      assert.deepEqual(manifest.splits.map((s) => [s.name, s.records]), [['labeled', 2], ['unlabeled', 1]], `${name}: the bad image left out`);
    });
  }
  // A user split must place every labeled image exactly once.
  await withDir(async (dir) => {
    await assert.rejects(ingestVocSegmentation(new MemoryObjectStore(), { ...fixture(dir), splits: { labeled: ['a'], test: ['c'] } }), (e: unknown) => e instanceof InputError && /1 image\(s\) in no split, e\.g\. b/.test(e.message));
  });
});

test('VOC segmentation from JPEGs of other sizes: letterboxed, masks nearest-neighbour exactly where the geometry says, padding = 255', () =>
  withDir(async (dir) => {
    for (const d of ['JPEGImages', 'SegmentationClass']) mkdirSync(join(dir, d));
    // 32x16 -> 64x64: scale 2, resized 64x32, 16 rows of padding above and below. Class 7 on columns 4..11, rows 2..9.
    const rect = { x0: 4, y0: 2, x1: 12, y1: 10 };
    await writePhoto(join(dir, 'JPEGImages', 'a.jpg'), { width: 32, height: 16, rects: [{ ...rect, rgb: [20, 200, 20] }] });
    const m = new Uint8Array(32 * 16);
    for (let y = rect.y0; y < rect.y1; y++) m.fill(7, y * 32 + rect.x0, y * 32 + rect.x1);
    writeFileSync(join(dir, 'SegmentationClass', 'a.png'), encodePaletteMaskPng(m, 16, 32));
    await writePhoto(join(dir, 'JPEGImages', 'u.jpg'), { width: 100, height: 60 });
    const store = new MemoryObjectStore();
    const { manifest } = await ingestVocSegmentation(store, { pool, imageDir: join(dir, 'JPEGImages'), maskDir: join(dir, 'SegmentationClass'), prefix: 'ds/seg', imageSize: 64, splits: { labeled: ['a'] } });
    assert.deepEqual([manifest.height, manifest.width, manifest.channels, manifest.resizePolicy, manifest.ignoreLabel], [64, 64, 3, 'letterbox', 255]);
    const [rec] = await readSplit(store, manifest, 'labeled');
    assert.deepEqual([rec.originalHeight, rec.originalWidth], [16, 32]);
    const g = fitGeometry({ height: 16, width: 32 }, { height: 64, width: 64 }, 'letterbox');
    assert.deepEqual([g.scaleX, g.scaleY, g.offsetX, g.offsetY], [2, 2, 0, 16]);
    const want = new Uint8Array(64 * 64).fill(255);
    want.fill(0, 16 * 64, 48 * 64);
    for (let y = 16 + 2 * rect.y0; y < 16 + 2 * rect.y1; y++) want.fill(7, y * 64 + 2 * rect.x0, y * 64 + 2 * rect.x1);
    assert.deepEqual(rec.mask, want);
    // The pixels agree with the mask: green inside class 7, black padding.
    const at = (x: number, y: number) => Array.from(rec.image.subarray((y * 64 + x) * 3, (y * 64 + x) * 3 + 3));
    const [r, gr, b] = at(16, 28);
    assert.ok(gr > 160 && r < 70 && b < 70, `${at(16, 28)}`);
    assert.deepEqual(at(32, 5), [0, 0, 0]);
    const [u] = await readSplit(store, manifest, 'unlabeled');
    assert.deepEqual([u.height, u.width, u.originalHeight, u.originalWidth, u.mask], [64, 64, 60, 100, undefined]);
  }));

test('VOC rerun: a dataset already there is rebuilt from its finished shards; a changed mask rewrites only its own shard', () =>
  withDir(async (dir) => {
    const store = new MemoryObjectStore();
    const opts = { ...fixture(dir), shardSize: 1 };
    const first = await ingestVocSegmentation(store, opts);
    assert.deepEqual(first.reusedShards, []);
    const again = await ingestVocSegmentation(store, opts);
    assert.deepEqual(again.reusedShards, first.manifest.splits.flatMap((s) => s.shards.map((sh) => sh.key)), 'every shard reused');
    assert.deepEqual(again.manifest.splits, first.manifest.splits);

    // b's mask gets another class: b's shard is written again, a's, c's and u's are reused.
    writeFileSync(join(dir, 'SegmentationClass', 'b.png'), encodeMaskPng(new Uint8Array(W * H).fill(7), H, W));
    store.calls.length = 0;
    const changed = await ingestVocSegmentation(store, opts);
    const written = store.calls.filter((c) => c.startsWith('put ') && c.endsWith('.tfrecord')).map((c) => c.slice(4));
    assert.equal(written.length, 1);
    assert.match(written[0], /^ds\/voc\/labeled\/labeled-00001-[0-9a-f]{16}\.tfrecord$/);
    assert.deepEqual(changed.reusedShards.length, 3);
    assert.deepEqual((await readSplit(store, changed.manifest, 'labeled'))[1].mask, new Uint8Array(W * H).fill(7));
    assert.equal(splitOf(changed.manifest, 'labeled').classCounts[7], 1);
  }));
