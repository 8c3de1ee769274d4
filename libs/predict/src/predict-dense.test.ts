// predict on a detector and a segmenter of the zoo (seeded; the detector's class bias raised so it
// reports boxes), saved to a real S3 endpoint on loopback with their datasets' manifests (letterbox), run
// on real PNG and JPEG scenes of Fashion-MNIST items whose sizes differ from the models'. Checks the
// documented formats, that the letterbox is undone exactly, and that the ONNX exports agree.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DETECTOR_ANCHOR_SIZE_FACTOR, inputMetadata } from '@selftrain/checkpoints';
import { initBackend, tf } from '@selftrain/compute';
import { RECORD_FORMAT, decodeMaskPng, manifestKey } from '@selftrain/data';
import { exportCheckpoint } from '@selftrain/export';
import { buildRetinaNet, buildSegmenter } from '@selftrain/models';
import { DatasetManifest, DatasetTask } from '@selftrain/proto';
import { S3ObjectStore, saveModelToBucket, startEmbeddedS3, type EmbeddedS3 } from '@selftrain/storage';
import sharp from 'sharp';
import { openCheckpointPredictor } from './checkpoint-predictor';
import type { CocoResult } from './coco-results';
import { openImageInput } from './image-input';
import { openOnnxPredictor } from './onnx-predictor';
import { predictImages } from './predict-images';
import type { DetectionPredictor, Predictor, SegmentationPredictor } from './predictor';
import { fashionMnistItems } from './testing/fashion-mnist-files';

const DETECTOR = 'runs/det/gen-0/student/checkpoints/best/model.json';
const SEGMENTER = 'runs/seg/gen-0/student/checkpoints/best/model.json';
const CLASSES = ['background', 'top', 'trouser', 'bag'];
const ITEMS = fashionMnistItems('t10k', 12);
let home: string;
let s3: EmbeddedS3;
let store: S3ObjectStore;

/** A dark grey canvas with Fashion-MNIST items pasted at a few places (HW, 1 channel). */
function scene(width: number, height: number, seed: number): Buffer {
  const px = Buffer.alloc(width * height, 20);
  for (let k = 0; k < 3; k++) {
    const item = ITEMS.images[(seed + k) % ITEMS.images.length];
    const ox = (seed * 13 + k * 31) % Math.max(1, width - 28);
    const oy = (seed * 7 + k * 17) % Math.max(1, height - 28);
    for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) px[(oy + y) * width + ox + x] = Math.max(px[(oy + y) * width + ox + x], item[y * 28 + x]);
  }
  return px;
}

const grey = (px: Buffer, width: number, height: number) => sharp(px, { raw: { width, height, channels: 1 } });

/**
 * The inputs: `wide.png` (96x48) and `tall.png` (48x96) letterbox into 96x96 at scale 1 (no resampling,
 * so the model sees exactly the image padded with zeros), plus a 150x100 JPEG and a 70x120 PNG that are
 * resized. Returns the wide image's pixels for the exact checks.
 */
async function writeScenes(dir: string, big: number): Promise<{ wide: Buffer }> {
  mkdirSync(path.join(dir, 'more'), { recursive: true });
  const wide = scene(big, big / 2, 1);
  writeFileSync(path.join(dir, 'wide.png'), await grey(wide, big, big / 2).png().toBuffer());
  writeFileSync(path.join(dir, 'tall.png'), await grey(scene(big / 2, big, 2), big / 2, big).png().toBuffer());
  writeFileSync(path.join(dir, 'more', 'street.jpg'), await grey(scene(150, 100, 3), 150, 100).jpeg({ quality: 90 }).toBuffer());
  writeFileSync(path.join(dir, 'more', 'shelf.png'), await grey(scene(70, 120, 4), 70, 120).png().toBuffer());
  return { wide };
}

/** `wide` (size x size/2) padded to size x size as letterbox pads it: rows of 0 above and below. */
function letterboxed(wide: Buffer, size: number): Uint8Array {
  const out = new Uint8Array(size * size);
  out.set(wide, (size / 4) * size);
  return out;
}

async function saveDense(task: 'detection' | 'segmentation', key: string, model: tf.LayersModel, size: number): Promise<void> {
  const dataset = `datasets/${task}`;
  await store.putJson(manifestKey(dataset), DatasetManifest.toJSON(DatasetManifest.fromPartial({
    // Channel statistics as a photo ingest writes them; dense models are trained on pixel / 255 regardless.
    name: task, classNames: CLASSES, height: size, width: size, channels: 1, recordFormat: RECORD_FORMAT, resizePolicy: 'letterbox', channelMean: [0.3], channelStd: [0.2],
    task: task === 'detection' ? DatasetTask.DATASET_TASK_DETECTION : DatasetTask.DATASET_TASK_SEGMENTATION,
  })));
  await saveModelToBucket(store, path.dirname(key), model, { task, dataset, role: 'student', ...inputMetadata({ height: size, width: size, channels: 1 }) });
  model.dispose();
}

async function run(predictor: Predictor, input: string, out: string): Promise<string[]> {
  try {
    return (await predictImages(predictor, await openImageInput(input), out, { batchSize: 3 })).written;
  } finally {
    await predictor.close();
  }
}

before(async () => {
  await initBackend({ purpose: 'infer' });
  home = mkdtempSync(path.join(tmpdir(), 'selftrain-predict-dense-'));
  s3 = await startEmbeddedS3({ directory: path.join(home, 's3'), port: 0 });
  store = await S3ObjectStore.connect({ ...s3.config, createBucket: true });
  const detector = buildRetinaNet({ inputShape: [96, 96, 1], numClasses: CLASSES.length - 1, anchorSizeFactor: DETECTOR_ANCHOR_SIZE_FACTOR, seed: 3 });
  // The prior (0.01) keeps every score under the 0.05 cut; spread scores around 0.5 instead, as a trained
  // detector's confident anchors are.
  const head = detector.getLayer('class_subnet_output');
  const [kernel, bias] = head.getWeights();
  head.setWeights([tf.mul(kernel, 30), tf.zerosLike(bias)]);
  await saveDense('detection', DETECTOR, detector, 96);
  await saveDense('segmentation', SEGMENTER, buildSegmenter({ inputShape: [64, 64, 1], numClasses: CLASSES.length, seed: 4 }), 64);
});

after(async () => {
  store.close();
  await s3.close();
  rmSync(home, { recursive: true, force: true });
});

test('detection: COCO results in original pixels (the letterbox undone), with the file list and categories beside them; the ONNX export agrees', async () => {
  const dir = path.join(home, 'scenes-96');
  const { wide } = await writeScenes(dir, 96);
  const out = path.join(home, 'out', 'boxes.json');
  const predictor = await openCheckpointPredictor(store, DETECTOR) as DetectionPredictor;
  // What the model finds on the wide image padded by hand: the reference for the undone letterbox.
  const [onPadded] = await predictor.predict([letterboxed(wide, 96)]);
  assert.deepEqual(await run(predictor, dir, out), [out, path.join(home, 'out', 'boxes.images.json')]);
  const results: CocoResult[] = JSON.parse(readFileSync(out, 'utf8'));
  const { images, categories } = JSON.parse(readFileSync(path.join(home, 'out', 'boxes.images.json'), 'utf8'));
  assert.deepEqual(categories, [{ id: 1, name: 'top' }, { id: 2, name: 'trouser' }, { id: 3, name: 'bag' }]);
  assert.deepEqual(images, [
    { id: 1, file_name: 'more/shelf.png', width: 70, height: 120 },
    { id: 2, file_name: 'more/street.jpg', width: 150, height: 100 },
    { id: 3, file_name: 'tall.png', width: 48, height: 96 },
    { id: 4, file_name: 'wide.png', width: 96, height: 48 },
  ]);
  for (const id of [1, 2, 3, 4]) assert.ok(results.some((r) => r.image_id === id), `image ${id} has boxes`);
  for (const r of results) {
    const { width, height } = images[r.image_id - 1];
    const [x, y, w, h] = r.bbox;
    assert.ok(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= width + 0.01 && y + h <= height + 0.01, `${JSON.stringify(r)} inside ${width}x${height}`);
    assert.ok([1, 2, 3].includes(r.category_id) && r.score >= 0.05 && r.score <= 1, JSON.stringify(r));
  }
  // wide.png: the padded image's boxes moved up by the 24 rows of padding and clipped to its 48 rows.
  const expected = onPadded
    .map((b) => ({ ...b, ymin: Math.min(48, Math.max(0, b.ymin - 24)), ymax: Math.min(48, Math.max(0, b.ymax - 24)) }))
    .filter((b) => b.ymax - b.ymin >= 0.01);
  const got = results.filter((r) => r.image_id === 4);
  assert.equal(got.length, expected.length);
  got.forEach((r, i) => {
    const e = expected[i];
    assert.equal(r.category_id, e.label);
    for (const [a, b] of [[r.bbox[0], e.xmin], [r.bbox[1], e.ymin], [r.bbox[2], e.xmax - e.xmin], [r.bbox[3], e.ymax - e.ymin]]) assert.ok(Math.abs(a - b) <= 0.011, `${r.bbox} vs ${JSON.stringify(e)}`);
  });

  const onnxOut = path.join(home, 'out', 'onnx-boxes.json');
  const exported = await exportCheckpoint(store, DETECTOR, 'onnx');
  await run(await openOnnxPredictor(exported.files[0].bytes, 'detector.onnx'), dir, onnxOut);
  const onnxResults: CocoResult[] = JSON.parse(readFileSync(onnxOut, 'utf8'));
  for (const id of [1, 2, 3, 4]) {
    // The best ten per image: far from the score ties where the engines' last bits could reorder NMS.
    const a = results.filter((r) => r.image_id === id).slice(0, 10);
    const b = onnxResults.filter((r) => r.image_id === id).slice(0, 10);
    assert.equal(b.length, a.length);
    a.forEach((r, i) => {
      assert.equal(b[i].category_id, r.category_id);
      assert.ok(r.bbox.every((v, j) => Math.abs(v - b[i].bbox[j]) <= 0.02) && Math.abs(r.score - b[i].score) < 1e-4, `${JSON.stringify(r)} vs ${JSON.stringify(b[i])}`);
    });
  }
});

test('segmentation: one palette PNG per image, named like it, at its original size, the letterbox undone; the ONNX export agrees', async () => {
  const dir = path.join(home, 'scenes-64');
  const { wide } = await writeScenes(dir, 64);
  const out = path.join(home, 'masks');
  const predictor = await openCheckpointPredictor(store, SEGMENTER) as SegmentationPredictor;
  const [onPadded] = await predictor.predict([letterboxed(wide, 64)]);
  assert.deepEqual(await run(predictor, dir, out), [out]);
  const listed = (d: string): string[] => readdirSync(d, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.relative(d, path.join(e.parentPath, e.name))).sort();
  assert.deepEqual(listed(out), ['more/shelf.png', 'more/street.png', 'tall.png', 'wide.png']);
  const sizes: Record<string, [number, number]> = { 'more/shelf.png': [120, 70], 'more/street.png': [100, 150], 'tall.png': [64, 32], 'wide.png': [32, 64] };
  const masks: Record<string, Uint8Array> = {};
  for (const [name, [h, w]] of Object.entries(sizes)) {
    const png = readFileSync(path.join(out, name));
    assert.equal(png[25], 3, `${name} is a palette PNG (colour type 3)`);
    const m = decodeMaskPng(png);
    assert.deepEqual([m.height, m.width], [h, w], name);
    // Letterbox keeps the whole image: every pixel seen, so every pixel a class.
    assert.ok(m.mask.every((c) => c < CLASSES.length), name);
    masks[name] = m.mask;
  }
  assert.deepEqual(masks['wide.png'], onPadded.subarray(16 * 64, 48 * 64), 'wide.png is rows 16..47 of the padded image\'s map');

  const onnxOut = path.join(home, 'onnx-masks');
  const exported = await exportCheckpoint(store, SEGMENTER, 'onnx');
  await run(await openOnnxPredictor(exported.files[0].bytes, 'segmenter.onnx'), dir, onnxOut);
  for (const name of Object.keys(sizes)) {
    const a = masks[name];
    const b = decodeMaskPng(readFileSync(path.join(onnxOut, name))).mask;
    let same = 0;
    for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
    assert.ok(same / a.length >= 0.99, `${name}: ${same}/${a.length} pixels agree`);
  }
});
