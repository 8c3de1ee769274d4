// ingestImages on real files (JPEGs and PNGs made with sharp here), into a real S3 endpoint on loopback
// (the embedded server) or the in-memory store where a test counts the store's calls.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConflictError, InputError } from '@selftrain/errors';
import { MemoryObjectStore, S3ObjectStore, startEmbeddedS3, type EmbeddedS3 } from '@selftrain/storage';
import sharp from 'sharp';
import { ingestImages, imagesIngestKey, type IngestImagesOptions } from './ingest-images';
import { loadHiddenLabels } from './ingest-fashion-mnist';
import { manifestKey, splitOf } from './manifest';
import { readSplit } from './shard';

let s3: EmbeddedS3;
let store: S3ObjectStore;
let raw: S3ObjectStore;
let work: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'ingest-images-'));
  s3 = await startEmbeddedS3({ directory: join(work, 's3'), port: 0 });
  store = await S3ObjectStore.connect({ ...s3.config, createBucket: true });
  // Raw images in a bucket of their own, as a user's pool would be.
  raw = await S3ObjectStore.connect({ ...s3.config, bucket: 'raw-images', createBucket: true });
});

after(async () => {
  store.close();
  raw.close();
  await s3.close();
  rmSync(work, { recursive: true, force: true });
});

/** Pixels that differ per seed and per channel, so class folders and mean/std are not trivial. */
function pixels(width: number, height: number, channels: number, seed: number): Buffer {
  const b = Buffer.alloc(width * height * channels);
  for (let i = 0; i < b.length; i++) b[i] = (seed * 37 + (i % channels) * 60 + ((i / channels) | 0) * (seed % 5 + 1)) & 0xff;
  return b;
}

function jpeg(width: number, height: number, seed: number, channels: 1 | 3 = 3): Promise<Buffer> {
  const img = sharp(pixels(width, height, channels, seed), { raw: { width, height, channels } });
  // Without the colourspace, sharp writes a grey raw input as a 3-component JPEG.
  return (channels === 1 ? img.toColourspace('b-w') : img).jpeg({ quality: 90 }).toBuffer();
}

function png(width: number, height: number, seed: number): Promise<Buffer> {
  return sharp(pixels(width, height, 3, seed), { raw: { width, height, channels: 3 } }).png().toBuffer();
}

let dirs = 0;
function freshDir(name: string): string {
  const d = join(work, `${name}-${dirs++}`);
  mkdirSync(d, { recursive: true });
  return d;
}

/** An ImageFolder: `perClass` 16x12 JPEGs in each class folder. */
async function imageFolder(classes: string[], perClass: number, opts: { size?: [number, number]; channels?: 1 | 3; seed?: number } = {}): Promise<string> {
  const dir = freshDir('folder');
  const [w, h] = opts.size ?? [16, 12];
  let seed = opts.seed ?? 1;
  for (const c of classes) {
    mkdirSync(join(dir, c));
    for (let i = 0; i < perClass; i++) writeFileSync(join(dir, c, `${String(i).padStart(3, '0')}.jpg`), await jpeg(w, h, seed++, opts.channels));
  }
  return dir;
}

test('ImageFolder ingest: labels per class kept, the rest unlabeled with hidden labels, val and test, mean/std of the labeled split', async () => {
  const labeledDir = await imageFolder(['cat', 'ant', 'bee'], 8);
  const testDir = await imageFolder(['ant', 'bee'], 2, { seed: 500 });
  const progress: [number, number][] = [];
  const r = await ingestImages(store, { labeledDir, testDir, labelsPerClass: 3, valPerClass: 1, seed: 7, shardSize: 4, onProgress: (d, t) => progress.push([d, t]) });
  const m = r.manifest;
  assert.equal(r.reused, false);
  assert.match(r.prefix, /^datasets\/images-[0-9a-f]{16}$/);
  assert.deepEqual(m.classNames, ['ant', 'bee', 'cat'], 'folder names, sorted');
  assert.deepEqual([m.height, m.width, m.channels], [12, 16, 3]);
  assert.equal(m.resizePolicy, '', 'nothing was resized');
  assert.deepEqual(m.splits.map((s) => [s.name, s.records, s.labeled]), [['labeled', 9, true], ['val', 3, true], ['test', 4, true], ['unlabeled', 12, false]]);
  assert.deepEqual(splitOf(m, 'labeled').classCounts, [3, 3, 3]);
  assert.deepEqual(splitOf(m, 'test').classCounts, [2, 2, 0]);
  assert.equal(splitOf(m, 'unlabeled').shards.length, 3, '12 records in shards of 4');
  assert.deepEqual(progress.at(-1), [2 * (24 + 4), 2 * (24 + 4)]);

  const labeled = await readSplit(store, m, 'labeled');
  const unlabeled = await readSplit(store, m, 'unlabeled');
  assert.ok(labeled.every((rec) => rec.label === ['ant', 'bee', 'cat'].indexOf(rec.key.split('/')[1])), 'labels follow the class folders');
  assert.ok(unlabeled.every((rec) => rec.label === undefined && rec.key.startsWith('labeled/')));
  const hidden = await loadHiddenLabels(store, r.prefix);
  assert.equal(hidden.size, 12);
  for (const rec of unlabeled) assert.equal(hidden.get(rec.key), ['ant', 'bee', 'cat'].indexOf(rec.key.split('/')[1]));

  // Mean / std over the labeled split's decoded pixels, on the 0..1 scale.
  const sums = [0, 0, 0];
  const sq = [0, 0, 0];
  let n = 0;
  for (const rec of labeled) for (let i = 0; i < rec.image.length; i++) { sums[i % 3] += rec.image[i] / 255; sq[i % 3] += (rec.image[i] / 255) ** 2; if (i % 3 === 0) n++; }
  for (let c = 0; c < 3; c++) {
    const mean = sums[c] / n;
    assert.ok(Math.abs(m.channelMean[c] - mean) < 1e-9, `mean ${c}`);
    assert.ok(Math.abs(m.channelStd[c] - Math.sqrt(sq[c] / n - mean * mean)) < 1e-9, `std ${c}`);
  }
  assert.ok(m.channelStd.every((s) => s > 0.01));

  // The same files elsewhere give the same dataset: the key is the content, not the paths; nothing is written.
  const moved = freshDir('moved');
  cpSync(labeledDir, join(moved, 'l'), { recursive: true });
  cpSync(testDir, join(moved, 't'), { recursive: true });
  const before = await store.stat(manifestKey(r.prefix));
  const again = await ingestImages(store, { labeledDir: join(moved, 'l'), testDir: join(moved, 't'), labelsPerClass: 3, valPerClass: 1, seed: 7, shardSize: 4 });
  assert.equal(again.reused, true);
  assert.equal(again.prefix, r.prefix);
  assert.deepEqual(await store.stat(manifestKey(r.prefix)), before);
  // One changed byte of content is another dataset.
  writeFileSync(join(moved, 'l', 'cat', '000.jpg'), await jpeg(16, 12, 999));
  const other = await ingestImages(store, { labeledDir: join(moved, 'l'), testDir: join(moved, 't'), labelsPerClass: 3, valPerClass: 1, seed: 7, shardSize: 4 });
  assert.notEqual(other.prefix, r.prefix);
});

test('unlabeled from a directory tree and from s3:// prefixes (another bucket, and the dataset bucket itself)', async () => {
  const labeledDir = await imageFolder(['a', 'b'], 3);
  const tree = freshDir('pool');
  mkdirSync(join(tree, 'deep', 'er'), { recursive: true });
  writeFileSync(join(tree, 'x.jpg'), await jpeg(16, 12, 40));
  writeFileSync(join(tree, 'deep', 'er', 'y.png'), await png(16, 12, 41));
  writeFileSync(join(tree, '.DS_Store'), 'not an image, and hidden: left out');
  for (let i = 0; i < 3; i++) await raw.put(`imagenet/train/n0${i}.jpg`, await jpeg(16, 12, 50 + i));
  await raw.put('elsewhere/z.jpg', await jpeg(16, 12, 60));
  await store.put('pool/p.jpg', await jpeg(16, 12, 61));
  const openBucket = async (bucket: string) => S3ObjectStore.connect({ ...s3.config, bucket });
  const r = await ingestImages(store, {
    labeledDir, valPerClass: 0, unlabeled: [tree, 's3://raw-images/imagenet/train', `s3://${store.bucket}/pool/`], openBucket, prefix: 'ds/pooled',
  });
  const keys = (await readSplit(store, r.manifest, 'unlabeled')).map((rec) => rec.key).sort();
  assert.deepEqual(keys, ['unlabeled-0/deep/er/y.png', 'unlabeled-0/x.jpg', 'unlabeled-1/n00.jpg', 'unlabeled-1/n01.jpg', 'unlabeled-1/n02.jpg', 'unlabeled-2/p.jpg']);
  assert.deepEqual(splitOf(r.manifest, 'labeled').classCounts, [3, 3]);
  assert.equal(await store.exists('ds/pooled/unlabeled-labels.json'), false, 'no labels to hide');

  // Another bucket with no way to open it is a clear error.
  await assert.rejects(ingestImages(store, { labeledDir, valPerClass: 0, unlabeled: ['s3://raw-images/imagenet/train'] }), (e: unknown) => e instanceof InputError && /raw-images/.test(e.message));
  await assert.rejects(ingestImages(store, { labeledDir, valPerClass: 0, unlabeled: ['s3://raw-images/nothing-here/'], openBucket }), /unlabeled\[0\]: no files/);
});

test('mixed sizes: refused without an image size (naming two files); with one, resized once with each original size kept', async () => {
  const labeledDir = freshDir('mixed');
  mkdirSync(join(labeledDir, 'wide'));
  mkdirSync(join(labeledDir, 'tall'));
  writeFileSync(join(labeledDir, 'wide', 'w0.jpg'), await jpeg(40, 20, 1));
  writeFileSync(join(labeledDir, 'wide', 'w1.png'), await png(24, 16, 2));
  writeFileSync(join(labeledDir, 'tall', 't0.jpg'), await jpeg(20, 40, 3));
  writeFileSync(join(labeledDir, 'tall', 't1.jpg'), await jpeg(20, 40, 4));
  await assert.rejects(ingestImages(store, { labeledDir, valPerClass: 0 }), (e: unknown) =>
    e instanceof InputError && e.field === 'imageSize' && /tall\/t0\.jpg is 20x40/.test(e.message) && /wide\/w0\.jpg is 40x20/.test(e.message) && /--image-size/.test(e.message));
  const prefixBefore = await store.list('');

  const r = await ingestImages(store, { labeledDir, valPerClass: 0, imageSize: { height: 16, width: 16 } });
  assert.ok(prefixBefore.every((k) => !k.startsWith(r.prefix)), 'the refused ingest wrote nothing');
  assert.deepEqual([r.manifest.height, r.manifest.width], [16, 16]);
  assert.equal(r.manifest.resizePolicy, 'center-crop', 'the classification default');
  const recs = await readSplit(store, r.manifest, 'labeled');
  const bySource = Object.fromEntries(recs.map((rec) => [rec.key, [rec.height, rec.width, rec.originalHeight, rec.originalWidth]]));
  assert.deepEqual(bySource, {
    'labeled/tall/t0.jpg': [16, 16, 40, 20],
    'labeled/tall/t1.jpg': [16, 16, 40, 20],
    'labeled/wide/w0.jpg': [16, 16, 20, 40],
    'labeled/wide/w1.png': [16, 16, 16, 24],
  });
  const stretched = await ingestImages(store, { labeledDir, valPerClass: 0, imageSize: { height: 16, width: 16 }, resizePolicy: 'stretch' });
  assert.equal(stretched.manifest.resizePolicy, 'stretch');
  assert.notEqual(stretched.prefix, r.prefix, 'the policy is part of the key');
});

test('grey labeled images give a 1-channel dataset; --channels 3 overrides', async () => {
  const labeledDir = await imageFolder(['x', 'y'], 2, { channels: 1 });
  const grey = await ingestImages(store, { labeledDir, valPerClass: 0 });
  assert.equal(grey.manifest.channels, 1);
  assert.equal(grey.manifest.channelMean.length, 1);
  assert.equal((await readSplit(store, grey.manifest, 'labeled'))[0].channels, 1);
  const rgb = await ingestImages(store, { labeledDir, valPerClass: 0, channels: 3 });
  assert.equal(rgb.manifest.channels, 3);
});

/** Each bad file, what makes it bad, and the words the error must carry. */
async function badFiles(): Promise<{ name: string; bytes: Buffer; says: RegExp }[]> {
  const good = await jpeg(16, 12, 3);
  return [
    { name: 'truncated.jpg', bytes: good.subarray(0, Math.floor(good.length * 0.6)), says: /not a valid JPEG/ },
    { name: 'empty.jpg', bytes: Buffer.alloc(0), says: /empty \(0 bytes\)/ },
    { name: 'notes.txt', bytes: Buffer.from('these are my notes, not a photo\n'), says: /not an image/ },
    { name: 'scan.tif', bytes: await sharp(pixels(16, 12, 3, 1), { raw: { width: 16, height: 12, channels: 3 } }).tiff().toBuffer(), says: /unsupported image format TIFF/ },
    { name: 'tiny.jpg', bytes: await jpeg(4, 4, 1), says: /4x4 pixels; images need at least 8/ },
  ];
}

test('bad input: each bad file is an error naming it, and the bucket is left as it was', async () => {
  for (const bad of await badFiles()) {
    const labeledDir = await imageFolder(['a', 'b'], 3);
    writeFileSync(join(labeledDir, 'b', bad.name), bad.bytes);
    const prefix = `ds/bad-${bad.name}`;
    await store.putJson(`${prefix}/keep.json`, { mine: true });
    await assert.rejects(ingestImages(store, { labeledDir, valPerClass: 0, prefix }), (e: unknown) => {
      assert.ok(e instanceof InputError, `${bad.name}: ${String(e)}`);
      assert.equal(e.field, join(labeledDir, 'b', bad.name), 'the field names the file');
      assert.match(e.message, bad.says);
      return true;
    });
    assert.deepEqual(await store.getJson(`${prefix}/keep.json`), { mine: true });
    assert.equal(await store.exists(manifestKey(prefix)), false, `${bad.name}: no manifest`);
  }
});

test('bad layout: an empty class folder, a test class the labeled folder lacks, a file beside the class folders', async () => {
  const labeledDir = await imageFolder(['a', 'b'], 3);
  mkdirSync(join(labeledDir, 'c'));
  await assert.rejects(ingestImages(store, { labeledDir }), (e: unknown) => e instanceof InputError && e.field === join(labeledDir, 'c') && /empty class folder/.test(e.message));
  rmSync(join(labeledDir, 'c'), { recursive: true });
  const testDir = await imageFolder(['a', 'zebra'], 1);
  await assert.rejects(ingestImages(store, { labeledDir, testDir, valPerClass: 0 }), (e: unknown) =>
    e instanceof InputError && e.field === join(testDir, 'zebra') && /test class zebra is not among the labeled classes \(a, b\)/.test(e.message));
  writeFileSync(join(labeledDir, 'README.jpg'), await jpeg(16, 12, 1));
  await assert.rejects(ingestImages(store, { labeledDir, valPerClass: 0 }), (e: unknown) => e instanceof InputError && e.field === join(labeledDir, 'README.jpg') && /not inside a class folder/.test(e.message));
  rmSync(join(labeledDir, 'README.jpg'));
  await assert.rejects(ingestImages(store, { labeledDir, labelsPerClass: 3, valPerClass: 1 }), /labelsPerClass: class a has 3 usable images, fewer than labelsPerClass \+ valPerClass = 4/);
  await assert.rejects(ingestImages(store, { labeledDir: join(work, 'no-such-dir') }), /labeledDir: directory not found/);
  await assert.rejects(ingestImages(store, { labeledDir, resizePolicy: 'squash' as never }), /resizePolicy: must be one of stretch, letterbox, center-crop/);
});

test('skipBad: every bad file left out and listed with its reason in the manifest', async () => {
  const labeledDir = await imageFolder(['a', 'b'], 3);
  const bad = await badFiles();
  for (const b of bad) writeFileSync(join(labeledDir, 'a', b.name), b.bytes);
  const pool = freshDir('pool');
  writeFileSync(join(pool, 'zero.jpg'), Buffer.alloc(0));
  writeFileSync(join(pool, 'ok.jpg'), await jpeg(16, 12, 9));
  const r = await ingestImages(store, { labeledDir, unlabeled: [pool], valPerClass: 0, skipBad: true });
  const skipped = new Map(r.manifest.skippedFiles.map((s) => [s.file, s.reason]));
  assert.equal(skipped.size, bad.length + 1);
  for (const b of bad) assert.match(skipped.get(join(labeledDir, 'a', b.name)) ?? 'missing', b.says, b.name);
  assert.match(skipped.get(join(pool, 'zero.jpg')) ?? 'missing', /empty/);
  assert.deepEqual(r.manifest.splits.map((s) => [s.name, s.records]), [['labeled', 6], ['unlabeled', 1]]);
});

test('resume: a rerun after a crash (shards written, no manifest) reuses the finished shards and writes the rest', async () => {
  const mem = new MemoryObjectStore();
  const labeledDir = await imageFolder(['a', 'b'], 10);
  const opts: IngestImagesOptions = { labeledDir, labelsPerClass: 2, valPerClass: 1, shardSize: 4, prefix: 'ds/resume' };
  const first = await ingestImages(mem, opts);
  const shards = first.manifest.splits.flatMap((s) => s.shards.map((sh) => sh.key));
  assert.equal(shards.length, 1 + 1 + 4);
  // The crash: the manifest never written, and the last unlabeled shard lost with its receipt.
  const lost = shards.at(-1)!;
  await mem.delete(manifestKey('ds/resume'));
  await mem.delete(imagesIngestKey('ds/resume'));
  await mem.delete(lost);
  mem.calls.length = 0;
  const second = await ingestImages(mem, opts);
  assert.equal(second.reused, false);
  const puts = mem.calls.filter((c) => c.startsWith('put ')).map((c) => c.slice(4));
  assert.deepEqual(puts.filter((k) => k.endsWith('.tfrecord')), [lost], 'only the lost shard is written again');
  assert.equal(puts.at(-1), manifestKey('ds/resume'), 'the manifest last');
  assert.deepEqual(second.manifest.splits, first.manifest.splits, 'the same shards, byte for byte');
  assert.deepEqual(second.manifest.channelMean, first.manifest.channelMean);

  // Another ingest at a finished dataset's prefix is a conflict, and writes nothing.
  mem.calls.length = 0;
  await assert.rejects(ingestImages(mem, { ...opts, seed: 1 }), (e: unknown) => e instanceof ConflictError && /ds\/resume already exists with other content/.test(e.message));
  assert.deepEqual(mem.calls.filter((c) => c.startsWith('put ')), []);
});
