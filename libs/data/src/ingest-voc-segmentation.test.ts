import { test } from 'node:test';
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
import { MemoryObjectStore } from '@selftrain/storage';

const W = 6;
const H = 4;
const rgb = (w = W, h = H) => PNG.sync.write({ width: w, height: h, data: Buffer.alloc(w * h * 4, 128) } as PNG, { colorType: 2 });
const maskA = Uint8Array.from({ length: W * H }, (_, i) => (i < 6 ? 255 : i % 3)); // classes 0, 1, 2 and a 255 border row
const maskB = Uint8Array.from({ length: W * H }, (_, i) => (i % 2 ? 20 : 0));
const maskC = new Uint8Array(W * H).fill(15);

/** Images a, b, c with masks (grayscale, VOC palette, grayscale) and u without one; `edit` may break things. */
function fixture(dir: string, edit: (dir: string) => void = () => {}): IngestVocOptions {
  for (const d of ['JPEGImages', 'SegmentationClass']) mkdirSync(join(dir, d));
  for (const n of ['a', 'b', 'c', 'u']) writeFileSync(join(dir, 'JPEGImages', `${n}.png`), rgb());
  writeFileSync(join(dir, 'SegmentationClass', 'a.png'), encodeMaskPng(maskA, H, W));
  writeFileSync(join(dir, 'SegmentationClass', 'b.png'), encodePaletteMaskPng(maskB, H, W));
  writeFileSync(join(dir, 'SegmentationClass', 'c.png'), encodeMaskPng(maskC, H, W));
  edit(dir);
  return { imageDir: join(dir, 'JPEGImages'), maskDir: join(dir, 'SegmentationClass'), prefix: 'ds/voc', splits: { labeled: ['a', 'b'], test: ['c'] } };
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

test('bad VOC input names the mask file and writes nothing', async () => {
  const mask = (d: string, n: string) => join(d, 'SegmentationClass', n);
  const cases: [string, (d: string) => void, (d: string) => string, RegExp][] = [
    ['mask of the wrong size', (d) => writeFileSync(mask(d, 'b.png'), encodeMaskPng(new Uint8Array(12), 3, 4)), (d) => mask(d, 'b.png'), /mask is 4x3, image b\.png is 6x4/],
    ['JPEG mask', (d) => writeFileSync(mask(d, 'b.png'), Buffer.from([0xff, 0xd8, 0xff, 0xdb])), (d) => mask(d, 'b.png'), /mask is a JPEG; masks must be PNG/],
    ['not an image at all', (d) => writeFileSync(mask(d, 'b.png'), 'hello'), (d) => mask(d, 'b.png'), /bad mask \(image b\): not a PNG/],
    ['RGB mask', (d) => writeFileSync(mask(d, 'b.png'), rgb()), (d) => mask(d, 'b.png'), /colour type 2 is not a class mask/],
    ['class out of range', (d) => writeFileSync(mask(d, 'c.png'), encodeMaskPng(Uint8Array.from({ length: 24 }, (_, i) => (i === 9 ? 21 : 0)), H, W)), (d) => mask(d, 'c.png'), /pixel \(3, 1\) has class 21; classes are 0\.\.20 and 255 = ignore/],
    ['mask without an image', (d) => writeFileSync(mask(d, 'z.png'), encodeMaskPng(new Uint8Array(24), H, W)), (d) => mask(d, 'z.png'), /mask has no image z\.\*/],
  ];
  for (const [name, edit, fileOf, message] of cases) {
    await withDir(async (dir) => {
      const opts = fixture(dir, edit);
      const store = new MemoryObjectStore();
      await assert.rejects(ingestVocSegmentation(store, opts), (e: unknown) => e instanceof InputError && e.field === fileOf(dir) && message.test(e.message), name);
      assert.equal(store.calls.filter((c) => c.startsWith('put ')).length, 0, `${name}: nothing written`);
    });
  }
  // A user split must place every labeled image exactly once.
  await withDir(async (dir) => {
    await assert.rejects(ingestVocSegmentation(new MemoryObjectStore(), { ...fixture(dir), splits: { labeled: ['a'], test: ['c'] } }), (e: unknown) => e instanceof InputError && /1 image\(s\) in no split, e\.g\. b/.test(e.message));
  });
});
