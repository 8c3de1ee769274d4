import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '@selftrain/errors';
import { MemoryObjectStore } from '@selftrain/storage';
import { DecodePool } from './decode-pool';
import { fitGeometry } from './image-geometry';
import { ingestVocDetection, vocBoxToFractions, type IngestVocDetectionOptions } from './ingest-voc-detection';
import { loadManifest, taskOf } from './manifest';
import { readSplit } from './shard';
import { bucketSnapshot, failedRunTrespasses } from './testing/bucket-snapshot';
import { photoBytes, writePhoto } from './testing/photo-fixtures';

const f = Math.fround;
const pool = new DecodePool({ threads: 2 });
after(() => pool.close());

interface Obj {
  name: string;
  /** VOC's 1-based, inclusive pixel indices. */
  box: [number, number, number, number];
  difficult?: boolean;
}

function xml(filename: string | undefined, width: number, height: number, objects: Obj[]): string {
  const objs = objects.map((o) => `
  <object>
    <name>${o.name}</name>
    <pose>Unspecified</pose>
    <truncated>0</truncated>
    <difficult>${o.difficult ? 1 : 0}</difficult>
    <bndbox><xmin>${o.box[0]}</xmin><ymin>${o.box[1]}</ymin><xmax>${o.box[2]}</xmax><ymax>${o.box[3]}</ymax></bndbox>
  </object>`).join('');
  return `<annotation>
  <folder>VOC2012</folder>
  ${filename === undefined ? '' : `<filename>${filename}</filename>`}
  <source><database>The VOC2007 Database</database></source>
  <size><width>${width}</width><height>${height}</height><depth>3</depth></size>
  <segmented>0</segmented>${objs}
</annotation>
`;
}

/**
 * A VOC tree: 000001 (80x60, a dog and a difficult person), 000002 (60x80, a cat covering rows 1..40),
 * 000003 (64x48, no objects), 000004 (an annotated image no list names), 000005 (a photo with no XML);
 * ImageSets/Main train = 1, 3; val = 2; no test list.
 */
async function vocTree(dir: string): Promise<IngestVocDetectionOptions> {
  for (const d of ['Annotations', 'JPEGImages', 'ImageSets/Main']) mkdirSync(join(dir, d), { recursive: true });
  const photo = (id: string, width: number, height: number) => writePhoto(join(dir, 'JPEGImages', `${id}.jpg`), { width, height, rects: [{ x0: 10, y0: 10, x1: 30, y1: 30, rgb: [200, 40, 40] }] });
  await photo('000001', 80, 60);
  await photo('000002', 60, 80);
  await photo('000003', 64, 48);
  await photo('000004', 64, 48);
  await photo('000005', 50, 50);
  writeFileSync(join(dir, 'Annotations', '000001.xml'), xml('000001.jpg', 80, 60, [{ name: 'dog', box: [11, 11, 30, 30] }, { name: 'person', box: [1, 1, 80, 60], difficult: true }]));
  writeFileSync(join(dir, 'Annotations', '000002.xml'), xml(undefined, 60, 80, [{ name: 'cat', box: [1, 1, 60, 40] }]));
  writeFileSync(join(dir, 'Annotations', '000003.xml'), xml('000003.jpg', 64, 48, []));
  writeFileSync(join(dir, 'Annotations', '000004.xml'), xml('000004.jpg', 64, 48, [{ name: 'dog', box: [2, 2, 20, 20] }]));
  writeFileSync(join(dir, 'ImageSets', 'Main', 'train.txt'), '000001\n000003\n');
  writeFileSync(join(dir, 'ImageSets', 'Main', 'val.txt'), '000002\n');
  // Per-class lists (id and 1 / -1) sit beside the split lists in VOC; they are not split lists.
  writeFileSync(join(dir, 'ImageSets', 'Main', 'dog_train.txt'), '000001  1\n000003 -1\n');
  return { pool, root: dir, prefix: 'ds/voc-det', imageSize: 64 };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vocdet-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true });
  }
}

test('VOC boxes: 1-based inclusive pixel indices become pixel edges (xmin - 1 .. xmax)', () => {
  // Pixels 1..10 of a 10-wide image are the whole width: edges 0 and 10.
  assert.deepEqual(vocBoxToFractions({ xmin: 1, ymin: 1, xmax: 10, ymax: 5 }, { width: 10, height: 5 }, 1), { xmin: 0, ymin: 0, xmax: 1, ymax: 1 });
  assert.deepEqual(vocBoxToFractions({ xmin: 3, ymin: 2, xmax: 3, ymax: 2 }, { width: 10, height: 10 }, 1), { xmin: 0.2, ymin: 0.1, xmax: 0.3, ymax: 0.2 }, 'one pixel is one pixel wide');
  assert.match(vocBoxToFractions({ xmin: 5, ymin: 1, xmax: 3, ymax: 2 }, { width: 10, height: 10 }, 1) as string, /empty box/);
  assert.match(vocBoxToFractions({ xmin: 1, ymin: 1, xmax: 13, ymax: 2 }, { width: 10, height: 10 }, 1) as string, /lies outside the 10x10 image/);
});

test('VOC detection ingest: XML boxes (1-based) land exactly where the letterbox puts them, difficult = crowd, ImageSets splits, unlisted and unannotated photos unlabeled', () =>
  withDir(async (dir) => {
    const store = new MemoryObjectStore();
    const { manifest } = await ingestVocDetection(store, await vocTree(dir));
    assert.equal(taskOf(manifest), 'detection');
    assert.equal(manifest.classNames.length, 21, 'every name is a VOC class: the 20 VOC classes, in VOC order');
    assert.deepEqual(manifest.classNames.slice(0, 3), ['background', 'aeroplane', 'bicycle']);
    assert.deepEqual([manifest.height, manifest.width, manifest.channels, manifest.resizePolicy], [64, 64, 3, 'letterbox']);
    assert.deepEqual(manifest.splits.map((s) => [s.name, s.records]), [['labeled', 2], ['val', 1], ['unlabeled', 2]]);
    assert.deepEqual(await loadManifest(store, 'ds/voc-det'), manifest);
    const dog = manifest.classNames.indexOf('dog');
    const person = manifest.classNames.indexOf('person');
    const cat = manifest.classNames.indexOf('cat');

    const labeled = await readSplit(store, manifest, 'labeled');
    assert.deepEqual(labeled.map((r) => r.key), ['000001', '000003']);
    // 80x60 -> 64x64: scale 0.8, resized 64x48, offset y 8. The dog's pixels 11..30 are edges 10..30.
    const g = fitGeometry({ width: 80, height: 60 }, { width: 64, height: 64 }, 'letterbox');
    assert.deepEqual([g.scaleX, g.offsetX, g.offsetY], [0.8, 0, 8]);
    const edge = (v: number, scale: number, offset: number) => f((v * scale + offset) / 64);
    assert.deepEqual(labeled[0].objects, [
      { xmin: edge(10, 0.8, 0), ymin: edge(10, 0.8, 8), xmax: edge(30, 0.8, 0), ymax: edge(30, 0.8, 8), label: dog },
      { xmin: 0, ymin: edge(0, 0.8, 8), xmax: 1, ymax: edge(60, 0.8, 8), label: person, isCrowd: true },
    ]);
    assert.deepEqual([labeled[0].originalHeight, labeled[0].originalWidth], [60, 80]);
    // The box and the pixels agree: the red square painted at edges 10..30 is inside the dog's box.
    const at = (x: number, y: number) => Array.from(labeled[0].image.subarray((y * 64 + x) * 3, (y * 64 + x) * 3 + 3));
    const [r, gg] = at(16, 24);
    assert.ok(r > 150 && gg < 90, `${at(16, 24)}`);
    assert.deepEqual(labeled[1].objects, [], 'an annotation with no object: labeled, no boxes');
    // 60x80 (portrait) -> scale 0.8, offset x 8; the cat covers the top half.
    const [val] = await readSplit(store, manifest, 'val');
    assert.deepEqual(val.objects, [{ xmin: f(8 / 64), ymin: 0, xmax: f(56 / 64), ymax: f(32 / 64), label: cat }]);
    const unlabeled = await readSplit(store, manifest, 'unlabeled');
    assert.deepEqual(unlabeled.map((u) => [u.key, u.objects]), [['000004', undefined], ['000005', undefined]]);
  }));

test('VOC detection: names outside VOC give the classes found, sorted; no ImageSets gives a seeded split', () =>
  withDir(async (dir) => {
    for (const d of ['Annotations', 'JPEGImages']) mkdirSync(join(dir, d), { recursive: true });
    for (const [i, name] of ['zebra', 'apple', 'zebra', 'mango'].entries()) {
      await writePhoto(join(dir, 'JPEGImages', `${i}.jpg`), { width: 40, height: 40 });
      writeFileSync(join(dir, 'Annotations', `${i}.xml`), xml(`${i}.jpg`, 40, 40, [{ name, box: [1, 1, 20, 20] }]));
    }
    const { manifest } = await ingestVocDetection(new MemoryObjectStore(), { pool, root: dir, prefix: 'p', valFraction: 0.25, testFraction: 0.25, seed: 3 });
    assert.deepEqual(manifest.classNames, ['background', 'apple', 'mango', 'zebra']);
    assert.deepEqual([manifest.height, manifest.width, manifest.resizePolicy], [40, 40, ''], 'one shared size: kept');
    assert.deepEqual(manifest.splits.map((s) => [s.name, s.records]), [['labeled', 2], ['val', 1], ['test', 1]]);
  }));

test('bad VOC detection input names the file (InputError) and touches nothing; with skipBad each is left out and named in the manifest', async () => {
  const ann = (d: string, id: string) => join(d, 'Annotations', `${id}.xml`);
  const jpg = (d: string, id: string) => join(d, 'JPEGImages', `${id}.jpg`);
  const cases: [string, (d: string) => void | Promise<void>, (d: string) => string, RegExp][] = [
    ['malformed XML', (d) => writeFileSync(ann(d, '000003'), '<annotation><size><width>64</width></size><object>'), (d) => ann(d, '000003'), /malformed XML/],
    ['not an annotation', (d) => writeFileSync(ann(d, '000003'), '<html><body/></html>'), (d) => ann(d, '000003'), /no <annotation> element/],
    ['box coordinate not a number', (d) => writeFileSync(ann(d, '000003'), xml('000003.jpg', 64, 48, [{ name: 'dog', box: [1, 1, Number.NaN, 5] }])), (d) => ann(d, '000003'), /<object> 1 \(dog\) <xmax> is "NaN", not a number/],
    ['box outside the image', (d) => writeFileSync(ann(d, '000003'), xml('000003.jpg', 64, 48, [{ name: 'dog', box: [1, 1, 70, 5] }])), (d) => ann(d, '000003'), /<object> 1 \(dog\): box .* lies outside the 64x48 image/],
    ['annotation naming a missing image', (d) => rmSync(jpg(d, '000003')), (d) => ann(d, '000003'), /names image .*000003\.jpg, which does not exist/],
    ['size differs from the XML', (d) => writeFileSync(ann(d, '000003'), xml('000003.jpg', 48, 64, [])), (d) => jpg(d, '000003'), /is 64x48 \(upright, EXIF orientation applied\), but .*000003\.xml says 48x64/],
    ['truncated JPEG', async (d) => {
      const whole = await photoBytes({ width: 64, height: 48, rects: [{ x0: 5, y0: 5, x1: 40, y1: 30, rgb: [10, 200, 90] }] });
      writeFileSync(jpg(d, '000003'), whole.subarray(0, whole.length >> 1));
    }, (d) => jpg(d, '000003'), /not a valid JPEG: .*premature end of JPEG image/],
    ['zero-byte image', (d) => writeFileSync(jpg(d, '000003'), ''), (d) => jpg(d, '000003'), /is empty \(0 bytes\)/],
    ['not an image', (d) => writeFileSync(jpg(d, '000003'), 'GIF? no, text'), (d) => jpg(d, '000003'), /not an image/],
    ['image smaller than 8 px', async (d) => {
      await writePhoto(jpg(d, '000003'), { width: 6, height: 48 });
      writeFileSync(ann(d, '000003'), xml('000003.jpg', 6, 48, []));
    }, (d) => jpg(d, '000003'), /is 6x48 pixels; images need at least 8/],
    ['a listed id without an annotation', (d) => writeFileSync(join(d, 'ImageSets', 'Main', 'train.txt'), '000001\n000003\n000009\n'), (d) => join(d, 'ImageSets', 'Main', 'train.txt'), /lists 000009, which has no usable Annotations\/000009\.xml/],
  ];
  for (const [name, edit, fileOf, message] of cases) {
    await withDir(async (dir) => {
      const opts = await vocTree(dir);
      await edit(dir);
      const store = new MemoryObjectStore();
      await ingestVocDetection(store, { ...(await vocTree(join(dir, 'old'))), prefix: opts.prefix });
      const before = await bucketSnapshot(store);
      await assert.rejects(ingestVocDetection(store, { ...opts, shardSize: 1 }), (e: unknown) => e instanceof InputError && e.field === fileOf(dir) && message.test(e.message), name);
      assert.deepEqual(failedRunTrespasses(before, await bucketSnapshot(store)), [], `${name}: every object already in the bucket is as it was`);
      const { manifest } = await ingestVocDetection(store, { ...opts, skipBad: true });
      assert.deepEqual(manifest.skippedFiles.map((s) => s.file), [fileOf(dir)], name);
      assert.match(`${manifest.skippedFiles[0].file}: ${manifest.skippedFiles[0].reason}`, message, name);
      const labeled = manifest.splits.find((s) => s.name === 'labeled')!;
      assert.equal(labeled.records, name === 'a listed id without an annotation' ? 2 : 1, `${name}: only 000001 left in train`);
    });
  }
});
