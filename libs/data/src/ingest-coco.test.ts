import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '@selftrain/errors';
import { PNG } from 'pngjs';
import { ingestCoco, type IngestCocoOptions } from './ingest-coco';
import { loadManifest, splitOf, taskOf } from './manifest';
import { readSplit } from './shard';
import { MemoryObjectStore } from '@selftrain/storage';

const f = Math.fround;

function rgbPng(width: number, height: number, seed: number): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < data.length; i++) data[i] = i % 4 === 3 ? 255 : (i * seed) & 0xff;
  return PNG.sync.write({ width, height, data } as PNG, { colorType: 2 });
}

/** Five 40x30 PNGs a..e, three categories with sparse ids, one crowd annotation; returns the options. */
function fixture(dir: string, edit: (coco: any) => void = () => {}): IngestCocoOptions {
  mkdirSync(join(dir, 'images'), { recursive: true });
  const names = ['a', 'b', 'c', 'd', 'e'];
  names.forEach((n, i) => writeFileSync(join(dir, 'images', `${n}.png`), rgbPng(40, 30, i + 1)));
  const coco = {
    images: names.map((n, i) => ({ id: 100 + i, file_name: `${n}.png`, width: 40, height: 30 })),
    categories: [{ id: 90, name: 'toothbrush' }, { id: 1, name: 'person' }, { id: 18, name: 'dog' }],
    annotations: [
      { id: 1, image_id: 100, category_id: 18, bbox: [4, 3, 8, 6], area: 30, iscrowd: 0 },
      { id: 2, image_id: 100, category_id: 1, bbox: [0, 0, 40, 30], area: 900, iscrowd: 1 },
      { id: 3, image_id: 101, category_id: 90, bbox: [20, 15, 20, 15], area: 200, iscrowd: 0 },
      { id: 4, image_id: 103, category_id: 1, bbox: [0, 0, 40.5, 30] }, // past the edge by float rounding: clipped
    ],
  };
  edit(coco);
  writeFileSync(join(dir, 'instances.json'), JSON.stringify(coco));
  return { annotationFile: join(dir, 'instances.json'), imageDir: join(dir, 'images'), prefix: 'ds/coco', splits: { labeled: ['a', 'b', 'c'].map((n) => `${n}.png`), val: ['d.png'], test: ['e.png'] } };
}

function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'coco-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true }));
}

test('COCO ingest: contiguous labels with class names and source ids, normalized boxes, crowd kept, user splits', () =>
  withDir(async (dir) => {
    const opts = fixture(dir);
    mkdirSync(join(dir, 'raw'));
    writeFileSync(join(dir, 'raw', 'u1.png'), rgbPng(40, 30, 7));
    const store = new MemoryObjectStore();
    const { manifest } = await ingestCoco(store, { ...opts, unlabeledDir: join(dir, 'raw') });
    assert.equal(taskOf(manifest), 'detection');
    // Ascending category id -> labels 1..3; 0 is the background.
    assert.deepEqual(manifest.classNames, ['background', 'person', 'dog', 'toothbrush']);
    assert.deepEqual(manifest.categoryIds, [0, 1, 18, 90]);
    assert.deepEqual([manifest.height, manifest.width, manifest.channels], [30, 40, 3]);
    assert.deepEqual(manifest.splits.map((s) => [s.name, s.records, s.labeled]), [['labeled', 3, true], ['val', 1, true], ['test', 1, true], ['unlabeled', 1, false]]);
    assert.deepEqual(splitOf(manifest, 'labeled').classCounts, [0, 1, 1, 1]); // boxes per class, crowd included
    assert.equal(store.calls.filter((c) => c.startsWith('put ')).at(-1), 'put ds/coco/manifest.json');
    assert.deepEqual(await loadManifest(store, 'ds/coco'), manifest);

    const labeled = await readSplit(store, manifest, 'labeled');
    assert.deepEqual(labeled.map((r) => [r.key, r.sourceId]), [['coco-100', '100'], ['coco-101', '101'], ['coco-102', '102']]);
    // [4, 3, 8, 6] on 40x30: x 4/40 .. 12/40, y 3/30 .. 9/30.
    assert.deepEqual(labeled[0].objects, [
      { xmin: f(0.1), ymin: f(0.1), xmax: f(0.3), ymax: f(0.3), label: 2, area: 30 },
      { xmin: 0, ymin: 0, xmax: 1, ymax: 1, label: 1, area: 900, isCrowd: true },
    ]);
    assert.deepEqual(labeled[2].objects, [], 'an image without annotations is labeled with no boxes');
    assert.deepEqual(labeled[1].image.subarray(0, 3), Uint8Array.from([0, 2, 4]), 'RGB pixels, alpha dropped');
    const val = await readSplit(store, manifest, 'val');
    assert.deepEqual(val[0].objects, [{ xmin: 0, ymin: 0, xmax: 1, ymax: 1, label: 1, area: f(40.5 * 30) }]); // clipped; area defaults to w x h
    const unlabeled = await readSplit(store, manifest, 'unlabeled');
    assert.deepEqual(unlabeled.map((r) => [r.key, r.objects]), [['unlabeled-u1.png', undefined]]);
  }));

test('COCO ingest without a user split draws a seeded one', () =>
  withDir(async (dir) => {
    const { splits: _s, ...opts } = fixture(dir);
    const a = await ingestCoco(new MemoryObjectStore(), { ...opts, testFraction: 0.2, valFraction: 0.2 });
    assert.deepEqual(a.manifest.splits.map((s) => [s.name, s.records]), [['labeled', 3], ['val', 1], ['test', 1]]);
    const b = await ingestCoco(new MemoryObjectStore(), { ...opts, testFraction: 0.2, valFraction: 0.2 });
    assert.deepEqual(a.manifest.splits.map((s) => s.shards[0].sha256), b.manifest.splits.map((s) => s.shards[0].sha256));
  }));

test('bad COCO input names the file and the record, and writes nothing', async () => {
  const cases: [string, (coco: any, dir: string) => void, RegExp, (dir: string) => string][] = [
    ['box outside the image', (c) => c.annotations.push({ id: 9, image_id: 102, category_id: 1, bbox: [35, 0, 10, 5] }), /annotations\[4\] \(id 9, image 102\): bbox \[35, 0, 10, 5\] lies outside the 40x30 image c\.png/, (d) => join(d, 'instances.json')],
    ['unknown category', (c) => c.annotations.push({ id: 9, image_id: 102, category_id: 7, bbox: [1, 1, 2, 2] }), /annotations\[4\] \(id 9, image 102\): unknown category_id 7 \(categories: 1, 18, 90\)/, (d) => join(d, 'instances.json')],
    ['annotation for a missing image', (c) => c.annotations.push({ id: 9, image_id: 999, category_id: 1, bbox: [1, 1, 2, 2] }), /annotations\[4\] \(id 9, image 999\): image_id 999 is not among the images/, (d) => join(d, 'instances.json')],
    ['image file missing', (_c, d) => rmSync(join(d, 'images', 'b.png')), /cannot read image: ENOENT/, (d) => join(d, 'images', 'b.png')],
    ['JPEG image', (_c, d) => writeFileSync(join(d, 'images', 'b.png'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0])), /is a JPEG; only PNG images are supported/, (d) => join(d, 'images', 'b.png')],
    ['image size differs from the JSON', (_c, d) => writeFileSync(join(d, 'images', 'e.png'), rgbPng(30, 30, 1)), /is 30x30, but instances\.json says 40x30 \(image id 104\)/, (d) => join(d, 'images', 'e.png')],
    ['empty box', (c) => (c.annotations[0].bbox = [4, 3, 0, 6]), /annotations\[0\] \(id 1, image 100\): empty bbox/, (d) => join(d, 'instances.json')],
  ];
  for (const [name, edit, message, fileOf] of cases) {
    await withDir(async (dir) => {
      const opts = fixture(dir, (c) => edit(c, dir)); // runs after the fixture wrote its images
      const store = new MemoryObjectStore();
      await assert.rejects(ingestCoco(store, opts), (e: unknown) => e instanceof InputError && e.field === fileOf(dir) && message.test(e.message), name);
      assert.deepEqual(store.calls.filter((c) => c.startsWith('put ')), [], `${name}: nothing written`);
    });
  }
});
