// predict on a classifier: the default student (cnn-small) trained briefly on Fashion-MNIST with the
// dataset's normalisation, saved to a real S3 endpoint on loopback; images written as PNG and JPEG files.
// The TF.js predictor must give the evaluator's top-1 on the same images, the ONNX export the TF.js
// predictor's top-1, and an s3:// input the folder's results.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { inputMetadata, inputShapeOf } from '@selftrain/checkpoints';
import { initBackend } from '@selftrain/compute';
import { FASHION_MNIST_CLASS_NAMES, RECORD_FORMAT, manifestKey } from '@selftrain/data';
import { exportCheckpoint } from '@selftrain/export';
import { buildModel } from '@selftrain/models';
import { DatasetManifest } from '@selftrain/proto';
import { S3ObjectStore, loadModelFromBucket, saveModelToBucket, startEmbeddedS3, type EmbeddedS3 } from '@selftrain/storage';
import { predictProbabilities, trainClassifier, trainDefaults, type Example } from '@selftrain/train';
import type { ClassificationLine } from './classification-jsonl';
import { openCheckpointPredictor } from './checkpoint-predictor';
import { openImageInput } from './image-input';
import { openOnnxPredictor } from './onnx-predictor';
import { predictImages } from './predict-images';
import type { Predictor } from './predictor';
import { fashionMnistItems, writeFashionMnistFiles } from './testing/fashion-mnist-files';

const CHECKPOINT = 'runs/fm/gen-0/student/checkpoints/best/model.json';
const MEAN = [0.286];
const STD = [0.353];
const ITEMS = fashionMnistItems('t10k', 48);
const JPEGS = 12;
let home: string;
let s3: EmbeddedS3;
let store: S3ObjectStore;
let files: string[];
let tfjsLines: ClassificationLine[];

const readLines = (file: string): ClassificationLine[] => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const onS3 = (bucket: string) => S3ObjectStore.connect({ ...s3.config, bucket, prefix: '', createBucket: false });

async function predictTo(predictor: Predictor, input: string, name: string): Promise<ClassificationLine[]> {
  const out = path.join(home, 'out', name);
  try {
    const result = await predictImages(predictor, await openImageInput(input, onS3), out, { batchSize: 16, topK: 3 });
    assert.deepEqual(result.written, [out]);
    return readLines(out);
  } finally {
    await predictor.close();
  }
}

before(async () => {
  await initBackend({ purpose: 'train' });
  home = mkdtempSync(path.join(tmpdir(), 'selftrain-predict-cls-'));
  s3 = await startEmbeddedS3({ directory: path.join(home, 's3'), port: 0 });
  store = await S3ObjectStore.connect({ ...s3.config, createBucket: true });
  const manifest = DatasetManifest.fromPartial({
    name: 'fashion-mnist', classNames: [...FASHION_MNIST_CLASS_NAMES], height: 28, width: 28, channels: 1, recordFormat: RECORD_FORMAT,
    channelMean: MEAN, channelStd: STD,
  });
  await store.putJson(manifestKey('datasets/fm'), DatasetManifest.toJSON(manifest));
  const train = fashionMnistItems('train', 3000);
  const examples: Example[] = train.images.map((image, i) => ({ image, label: train.labels[i] }));
  const shape = inputShapeOf(manifest);
  const options = trainDefaults('classification', 'student');
  const model = buildModel({ name: 'cnn-small', inputShape: [28, 28, 1], numClasses: 10, width: 0.5, dropout: options.dropout, seed: 7 });
  // A few seconds of training: ~70 % top-1, confident and unsure predictions alike.
  await trainClassifier({
    model, shape, numClasses: 10, labeled: examples.slice(0, 2800), validation: examples.slice(2800), backend: 'wasm',
    options: { ...options, maxSteps: 120, evalEvery: 1000, checkpointEvery: 1000, batchSize: 32, augment: 'none', warmupSteps: 10 },
    saveCheckpoint: async () => ({ key: 'unused', sha256: '', sizeBytes: 0 }),
  });
  await saveModelToBucket(store, path.dirname(CHECKPOINT), model, { dataset: 'datasets/fm', model: 'cnn-small', role: 'student', ...inputMetadata(shape) });
  model.dispose();
  files = await writeFashionMnistFiles(path.join(home, 'images'), ITEMS.images, JPEGS);
  tfjsLines = await predictTo(await openCheckpointPredictor(store, CHECKPOINT), path.join(home, 'images'), 'tfjs.jsonl');
});

after(async () => {
  store.close();
  await s3.close();
  rmSync(home, { recursive: true, force: true });
});

test('the TF.js predictor gives the evaluator\'s top-1 and probabilities on PNGs of the records, one JSONL line per file', async () => {
  assert.deepEqual(tfjsLines.map((l) => l.file), files);
  // The evaluator's path: the checkpoint as loaded from the bucket, the records' pixels, the manifest's normalisation.
  const model = await loadModelFromBucket(store, CHECKPOINT);
  const manifest = DatasetManifest.fromJSON(await store.getJson(manifestKey('datasets/fm')));
  const probs = await predictProbabilities(model, ITEMS.images, inputShapeOf(manifest));
  model.dispose();
  const pngs = files.filter((f) => f.endsWith('.png'));
  assert.equal(pngs.length, ITEMS.images.length - JPEGS);
  let right = 0;
  for (const line of tfjsLines.filter((l) => l.file.endsWith('.png'))) {
    const i = Number(/item-(\d+)/.exec(line.file)![1]);
    const row = probs.slice(i * 10, i * 10 + 10);
    const best = row.indexOf(Math.max(...row));
    assert.equal(line.class, FASHION_MNIST_CLASS_NAMES[best], line.file);
    assert.ok(Math.abs(line.probability - row[best]) < 1e-5, `${line.file}: ${line.probability} vs ${row[best]}`);
    assert.equal(line.top_k.length, 3);
    assert.equal(line.top_k[0].class, line.class);
    assert.ok(line.top_k[0].probability >= line.top_k[1].probability && line.top_k[1].probability >= line.top_k[2].probability);
    if (best === ITEMS.labels[i]) right++;
  }
  // A trained model, not a constant: most of the items right.
  assert.ok(right / pngs.length > 0.5, `top-1 ${right}/${pngs.length}`);
});

test('the ONNX export gives the TF.js predictor\'s top-1 on every file (PNG and resized JPEG), probabilities within 1e-4', async () => {
  const exported = await exportCheckpoint(store, CHECKPOINT, 'onnx');
  const onnxLines = await predictTo(await openOnnxPredictor(exported.files[0].bytes, 'model.onnx'), path.join(home, 'images'), 'onnx.jsonl');
  assert.deepEqual(onnxLines.map((l) => l.file), files);
  onnxLines.forEach((l, i) => {
    assert.equal(l.class, tfjsLines[i].class, l.file);
    assert.ok(Math.abs(l.probability - tfjsLines[i].probability) <= 1e-4, `${l.file}: ${l.probability} vs ${tfjsLines[i].probability}`);
  });
});

test('a checkpoint on the onnxruntime engine (exported in memory) gives the TF.js predictor\'s classes, probabilities within 1e-5', async () => {
  const lines = await predictTo(await openCheckpointPredictor(store, CHECKPOINT, { engine: 'onnxruntime' }), path.join(home, 'images'), 'engine-onnx.jsonl');
  assert.deepEqual(lines.map((l) => [l.file, l.class]), tfjsLines.map((l) => [l.file, l.class]));
  lines.forEach((l, i) => assert.ok(Math.abs(l.probability - tfjsLines[i].probability) <= 1e-5, `${l.file}: ${l.probability} vs ${tfjsLines[i].probability}`));
});

test('an s3://BUCKET/PREFIX input gives the folder\'s results, files named relative to the prefix', async () => {
  const other = await S3ObjectStore.connect({ ...s3.config, bucket: 'incoming', prefix: '', createBucket: true });
  for (const f of files) await other.put(`camera-7/${f}`, readFileSync(path.join(home, 'images', ...f.split('/'))));
  await other.put('camera-7/notes.txt', Buffer.from('not an image'));
  other.close();
  const lines = await predictTo(await openCheckpointPredictor(store, CHECKPOINT), 's3://incoming/camera-7', 's3.jsonl');
  assert.deepEqual(lines, tfjsLines);
  assert.deepEqual(readdirSync(path.join(home, 'out')).filter((f) => f.includes('partial')), []);
});
