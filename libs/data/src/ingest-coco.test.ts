import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '@selftrain/errors';
import { PNG } from 'pngjs';
import { ingestCoco, type IngestCocoOptions } from './ingest-coco';
import { DecodePool } from './decode-pool';
import { fitGeometry } from './image-geometry';
import { bucketSnapshot, failedRunTrespasses, snapshotChanges } from './testing/bucket-snapshot';
import { photoBytes, writePhoto, type PaintedRect } from './testing/photo-fixtures';
import { loadManifest, manifestKey, splitOf, taskOf } from './manifest';
import { readSplit } from './shard';
import { MemoryObjectStore } from '@selftrain/storage';

const f = Math.fround;

// One pool for the file: starting workers (each loads libvips) is most of a small ingest's time.
const pool = new DecodePool({ threads: 2 });
after(() => pool.close());

function rgbPng(width: number, height: number, seed: number): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < data.length; i++) data[i] = i % 4 === 3 ? 255 : (i * seed) & 0xff;
  return PNG.sync.write({ width, height, data } as PNG, { colorType: 2 });
}

/** Five 40x30 PNGs a..e (all one size: nothing is resized), three categories with sparse ids, one crowd annotation; returns the options. */
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
  return { pool, annotationFile: join(dir, 'instances.json'), imageDir: join(dir, 'images'), prefix: 'ds/coco', splits: { labeled: ['a', 'b', 'c'].map((n) => `${n}.png`), val: ['d.png'], test: ['e.png'] } };
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
    assert.equal(manifest.resizePolicy, '', 'every image had the dataset size');
    assert.deepEqual(manifest.skippedFiles, []);
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
    assert.deepEqual([labeled[1].originalHeight, labeled[1].originalWidth], [undefined, undefined], 'not resized: no original size');
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

const RED: PaintedRect['rgb'] = [230, 20, 20];

test('COCO ingest of JPEGs of mixed sizes (one EXIF-rotated, one CMYK, a WebP): letterboxed once, boxes exactly where the geometry says', () =>
  withDir(async (dir) => {
    mkdirSync(join(dir, 'images'));
    mkdirSync(join(dir, 'raw'));
    // Upright sizes and one red box each (pixel edges); p is stored on its side with EXIF orientation 6.
    const photos = [
      { name: 'p.jpg', width: 48, height: 64, rect: { x0: 8, y0: 16, x1: 24, y1: 48 }, sideways: true },
      { name: 'q.jpg', width: 96, height: 64, rect: { x0: 48, y0: 8, x1: 88, y1: 40 } },
      { name: 'r.jpg', width: 64, height: 64, rect: { x0: 0, y0: 32, x1: 32, y1: 64 }, cmyk: true },
      { name: 's.webp', width: 32, height: 16, rect: { x0: 4, y0: 4, x1: 12, y1: 12 }, format: 'webp' as const },
    ];
    for (const p of photos) await writePhoto(join(dir, 'images', p.name), { width: p.width, height: p.height, rects: [{ ...p.rect, rgb: RED }], sideways: p.sideways, cmyk: p.cmyk, format: p.format });
    await writePhoto(join(dir, 'raw', 'u.jpg'), { width: 200, height: 100 });
    writeFileSync(join(dir, 'raw', 'notes.txt'), 'not an image: not listed');
    const coco = {
      images: photos.map((p, i) => ({ id: i + 1, file_name: p.name, width: p.width, height: p.height })),
      categories: [{ id: 5, name: 'thing' }],
      annotations: photos.map((p, i) => ({ id: i + 1, image_id: i + 1, category_id: 5, bbox: [p.rect.x0, p.rect.y0, p.rect.x1 - p.rect.x0, p.rect.y1 - p.rect.y0] })),
    };
    writeFileSync(join(dir, 'instances.json'), JSON.stringify(coco));
    const store = new MemoryObjectStore();
    const { manifest, resized, droppedBoxes } = await ingestCoco(store, {
      pool, annotationFile: join(dir, 'instances.json'), imageDir: join(dir, 'images'), unlabeledDir: join(dir, 'raw'), prefix: 'ds/photos', imageSize: 64,
      splits: { labeled: photos.map((p) => p.name) },
    });
    assert.deepEqual([manifest.height, manifest.width, manifest.channels, manifest.resizePolicy], [64, 64, 3, 'letterbox']);
    assert.equal(resized, 4, 'p, q and s resized, u too; r already 64x64');
    assert.equal(droppedBoxes, 0, 'letterbox keeps every box');
    assert.deepEqual(manifest.splits.map((s) => [s.name, s.records]), [['labeled', 4], ['unlabeled', 1]]);
    // Mean / std of the labeled photos (grey 128 and the red boxes), padding left out.
    assert.equal(manifest.channelMean.length, 3);
    assert.ok(manifest.channelMean[0] > 128 / 255 && manifest.channelMean[1] < 128 / 255, `${manifest.channelMean}`);
    assert.ok(manifest.channelStd.every((v) => v > 0.05 && v < 0.5), `${manifest.channelStd}`);

    const labeled = await readSplit(store, manifest, 'labeled');
    photos.forEach((p, i) => {
      const r = labeled[i];
      const g = fitGeometry({ height: p.height, width: p.width }, { height: 64, width: 64 }, 'letterbox');
      const same = g.source.height === 64 && g.source.width === 64;
      assert.deepEqual([r.originalHeight, r.originalWidth], same ? [undefined, undefined] : [p.height, p.width], p.name);
      // The box, moved by the geometry: x' = x * scale + offset, as a fraction of 64.
      const want = { xmin: (p.rect.x0 * g.scaleX + g.offsetX) / 64, ymin: (p.rect.y0 * g.scaleY + g.offsetY) / 64, xmax: (p.rect.x1 * g.scaleX + g.offsetX) / 64, ymax: (p.rect.y1 * g.scaleY + g.offsetY) / 64 };
      const box = r.objects![0];
      for (const k of ['xmin', 'ymin', 'xmax', 'ymax'] as const) assert.equal(box[k], f(want[k]), `${p.name} ${k}`);
      // The pixels agree: red at the box's centre, grey just outside it, black padding outside the photo.
      const at = (x: number, y: number) => Array.from(r.image.subarray((y * 64 + x) * 3, (y * 64 + x) * 3 + 3));
      const cx = Math.floor(((want.xmin + want.xmax) / 2) * 64);
      const cy = Math.floor(((want.ymin + want.ymax) / 2) * 64);
      const [red, green, blue] = at(cx, cy);
      assert.ok(red > 180 && green < 70 && blue < 70, `${p.name}: centre ${at(cx, cy)}`);
      if (g.offsetY > 0) assert.deepEqual(at(32, 0), [0, 0, 0], `${p.name}: letterbox padding at the top`);
      if (g.offsetX > 0) assert.deepEqual(at(0, 32), [0, 0, 0], `${p.name}: letterbox padding at the left`);
    });
  }));

test('COCO ingest: mixed sizes and no --image-size choose a square of the most common longest side (rounded to 32, 128..512)', () =>
  withDir(async (dir) => {
    mkdirSync(join(dir, 'images'));
    const sizes = [[300, 200], [300, 180], [150, 300], [100, 80]];
    for (const [i, [w, h]] of sizes.entries()) await writePhoto(join(dir, 'images', `${i}.jpg`), { width: w, height: h });
    writeFileSync(join(dir, 'instances.json'), JSON.stringify({ images: sizes.map(([w, h], i) => ({ id: i, file_name: `${i}.jpg`, width: w, height: h })), categories: [{ id: 1, name: 'a' }], annotations: [] }));
    const { manifest } = await ingestCoco(new MemoryObjectStore(), { pool, annotationFile: join(dir, 'instances.json'), imageDir: join(dir, 'images'), prefix: 'p', splits: { labeled: ['0.jpg', '1.jpg', '2.jpg'], val: ['3.jpg'] } });
    assert.deepEqual([manifest.height, manifest.width], [320, 320], '300 is the most common longest side -> 320');
  }));

test('bad COCO input names the file (InputError) and touches nothing in the bucket; with skipBad each bad file is left out and named in the manifest', async () => {
  const json = (d: string) => join(d, 'instances.json');
  const img = (d: string, n: string) => join(d, 'images', n);
  const truncated = async (d: string) => {
    const jpg = await photoBytes({ width: 40, height: 30, rects: [{ x0: 5, y0: 5, x1: 20, y1: 20, rgb: RED }] });
    writeFileSync(img(d, 'b.png'), jpg.subarray(0, Math.floor(jpg.length / 2)));
  };
  const cases: [string, (coco: any, dir: string) => void | Promise<void>, RegExp, (dir: string) => string][] = [
    ['truncated JPEG', (_c, d) => truncated(d), /not a valid JPEG: .*premature end of JPEG image/, (d) => img(d, 'b.png')],
    ['zero-byte image', (_c, d) => writeFileSync(img(d, 'd.png'), ''), /is empty \(0 bytes\)/, (d) => img(d, 'd.png')],
    ['not an image', (_c, d) => writeFileSync(img(d, 'e.png'), 'hello, I am text'), /not an image/, (d) => img(d, 'e.png')],
    ['image smaller than 8 px', (c, d) => { writeFileSync(img(d, 'c.png'), rgbPng(7, 30, 1)); c.images[2].width = 7; }, /is 7x30 pixels; images need at least 8/, (d) => img(d, 'c.png')],
    ['corrupt JPEG', (_c, d) => writeFileSync(img(d, 'b.png'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0])), /not a valid JPEG/, (d) => img(d, 'b.png')],
    ['image file missing', (_c, d) => rmSync(img(d, 'b.png')), /cannot read image: ENOENT/, (d) => img(d, 'b.png')],
    ['image size differs from the JSON', (_c, d) => writeFileSync(img(d, 'e.png'), rgbPng(30, 30, 1)), /is 30x30 \(upright, EXIF orientation applied\), but instances\.json says 40x30 \(image id 104\)/, (d) => img(d, 'e.png')],
    ['annotation naming a missing image', (c) => c.annotations.push({ id: 9, image_id: 999, category_id: 1, bbox: [1, 1, 2, 2] }), /annotations\[4\] \(id 9, image 999\): image_id 999 is not among the images/, json],
    ['box outside the image', (c) => c.annotations.push({ id: 9, image_id: 102, category_id: 1, bbox: [35, 0, 10, 5] }), /annotations\[4\] \(id 9, image 102\): bbox \[35, 0, 10, 5\] lies outside the 40x30 image c\.png/, json],
    ['unknown category', (c) => c.annotations.push({ id: 9, image_id: 102, category_id: 7, bbox: [1, 1, 2, 2] }), /annotations\[4\] \(id 9, image 102\): unknown category_id 7 \(categories: 1, 18, 90\)/, json],
    ['empty box', (c) => (c.annotations[0].bbox = [4, 3, 0, 6]), /annotations\[0\] \(id 1, image 100\): empty bbox/, json],
  ];
  for (const [name, edit, message, fileOf] of cases) {
    await withDir(async (dir) => {
      const opts = fixture(dir);
      const coco = JSON.parse(readFileSync(opts.annotationFile, 'utf8'));
      await edit(coco, dir);
      writeFileSync(opts.annotationFile, JSON.stringify(coco));
      // A dataset already at the prefix; one record per shard, so shards are written before the bad file is met.
      const store = new MemoryObjectStore();
      await ingestCoco(store, { ...fixture(join(dir, 'old')), prefix: opts.prefix });
      const before = await bucketSnapshot(store);
      await assert.rejects(ingestCoco(store, { ...opts, shardSize: 1 }), (e: unknown) => e instanceof InputError && e.field === fileOf(dir) && message.test(e.message), name);
      assert.deepEqual(failedRunTrespasses(before, await bucketSnapshot(store)), [], `${name}: every object already in the bucket is as it was`);

      const { manifest } = await ingestCoco(store, { ...opts, skipBad: true, splits: undefined });
      assert.equal(manifest.skippedFiles.length, 1, `${name}: ${JSON.stringify(manifest.skippedFiles)}`);
      const [skip] = manifest.skippedFiles;
      assert.equal(skip.file, fileOf(dir), name);
      assert.match(`${skip.file}: ${skip.reason}`, message, name);
      const records = manifest.splits.reduce((n, s) => n + s.records, 0);
      assert.equal(records, name === 'annotation naming a missing image' ? 5 : 4, `${name}: the bad image left out, the others kept`);
    });
  }
});

test('a COCO ingest that failed midway resumes: the rerun reuses the shards it finished, ends as a clean run does, and the failure leaves the dataset published before at the prefix untouched', () =>
  withDir(async (dir) => {
    // One record a shard: labeled a, b, c, then val d, test e.
    const opts = { ...fixture(dir), shardSize: 1 };
    const store = new MemoryObjectStore();
    const published = await ingestCoco(store, { ...fixture(join(dir, 'old')), prefix: opts.prefix, shardSize: 1 });
    const before = await bucketSnapshot(store);

    // c.png, the third labeled shard, is cut short: the run fails there, after finishing a's and b's shards.
    const cPath = join(opts.imageDir, 'c.png');
    const c = readFileSync(cPath);
    writeFileSync(cPath, c.subarray(0, c.length >> 1));
    await assert.rejects(ingestCoco(store, opts), (e: unknown) => e instanceof InputError && e.field === cPath);
    const afterFailure = await bucketSnapshot(store);
    const { changed, added } = snapshotChanges(before, afterFailure);
    assert.deepEqual(changed, [], 'the published dataset (manifest and shards) is untouched');
    assert.deepEqual(await loadManifest(store, opts.prefix), published.manifest);
    const finished = added.filter((k) => k.endsWith('.tfrecord')).sort();
    assert.deepEqual(finished.map((k) => k.replace(/-[0-9a-f]{16}\.tfrecord$/, '')), ['ds/coco/labeled/labeled-00000', 'ds/coco/labeled/labeled-00001']);
    assert.deepEqual(added.filter((k) => !k.endsWith('.tfrecord')).sort(), finished.map((k) => k.replace('ds/coco/', 'ds/coco/ingest-receipts/') + '.json'), 'each finished shard has its receipt');

    // The file restored, the rerun reuses both finished shards and writes only the rest, the manifest last.
    writeFileSync(cPath, c);
    store.calls.length = 0;
    const resumed = await ingestCoco(store, opts);
    assert.deepEqual([...resumed.reusedShards].sort(), finished);
    const puts = store.calls.filter((k) => k.startsWith('put ')).map((k) => k.slice(4));
    assert.deepEqual(puts.filter((k) => k.endsWith('.tfrecord')).map((k) => k.split('/')[3].replace(/-[0-9a-f]{16}\.tfrecord$/, '')), ['labeled-00002', 'val-00000', 'test-00000']);
    assert.equal(puts.at(-1), manifestKey(opts.prefix));
    const failedRun = new Map(afterFailure);
    for (const k of finished) assert.equal((await store.stat(k))!.sha256, failedRun.get(k), `${k}: the failed run's bytes, kept`);

    // The same dataset as one clean run into an empty bucket: the same shards, byte for byte.
    const clean = await ingestCoco(new MemoryObjectStore(), opts);
    assert.deepEqual(clean.reusedShards, []);
    assert.deepEqual(resumed.manifest.splits, clean.manifest.splits);
    assert.deepEqual([resumed.manifest.channelMean, resumed.manifest.channelStd], [clean.manifest.channelMean, clean.manifest.channelStd]);
    assert.deepEqual(await readSplit(store, resumed.manifest, 'labeled'), await readSplit(store, clean.manifest, 'labeled'));
  }));
