// `selftrain predict`: the real CLI against an embedded S3 holding a checkpoint, its dataset's manifest and
// a run record; real JPEG and PNG files in a folder and in a bucket. Engines and formats are libs/predict's
// tests; here the command: its MODEL and INPUT forms, its outputs, and bad input refused with exit 2.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { RECORD_FORMAT, manifestKey, photoBytes, type PhotoSpec } from '@selftrain/data';
import { buildModel } from '@selftrain/models';
import { saveRunRecord } from '@selftrain/pipeline/records';
import type { ClassificationLine } from '@selftrain/predict';
import { DatasetManifest, RunRecord, onnx } from '@selftrain/proto';
import { S3ObjectStore, saveModelToBucket } from '@selftrain/storage';
import { openTestBucket, runCli, type TestBucket } from './testing/cli-harness';

let bucket: TestBucket;
let photos: string;
const CHECKPOINT = 'runs/tiny/gen-1/student/checkpoints/best/model.json';
const MISLABELED = 'runs/odd/model.json';

/** Photos with solid rectangles, some 28x28 (the model's size), some larger and not square (resized). */
const SPECS: [string, PhotoSpec][] = [
  ['a/1.png', { width: 28, height: 28, format: 'png', rects: [{ x0: 4, y0: 4, x1: 20, y1: 24, rgb: [250, 250, 250] }] }],
  ['a/2.jpg', { width: 64, height: 48, format: 'jpeg', rects: [{ x0: 10, y0: 5, x1: 40, y1: 30, rgb: [200, 30, 30] }] }],
  ['b/3.webp', { width: 40, height: 40, format: 'webp', background: 10 }],
  ['b/deep/4.jpeg', { width: 100, height: 30, format: 'jpeg', rects: [{ x0: 0, y0: 0, x1: 50, y1: 30, rgb: [0, 0, 0] }] }],
  ['5.PNG', { width: 28, height: 28, format: 'png', background: 240 }],
];

before(async () => {
  bucket = await openTestBucket('predict');
  const { store } = bucket;
  await store.putJson(manifestKey('datasets/tiny'), DatasetManifest.toJSON(DatasetManifest.fromPartial({
    name: 'tiny', classNames: ['a', 'b', 'c'], height: 28, width: 28, channels: 1, recordFormat: RECORD_FORMAT, channelMean: [0.4], channelStd: [0.3],
  })));
  const input = { input: { height: 28, width: 28, channels: 1, mean: [0.4], std: [0.3] } };
  const model = buildModel({ name: 'cnn-small', inputShape: [28, 28, 1], numClasses: 3, width: 0.25, seed: 5 });
  const artifact = await saveModelToBucket(store, path.dirname(CHECKPOINT), model, { dataset: 'datasets/tiny', model: 'cnn-small', role: 'student', ...input });
  // A classifier whose metadata claims it is a detector.
  await saveModelToBucket(store, path.dirname(MISLABELED), model, { dataset: 'datasets/tiny', task: 'detection', ...input });
  model.dispose();
  await saveRunRecord(store, RunRecord.fromPartial({
    runId: 'tiny', dataset: 'datasets/tiny', state: 'succeeded',
    generations: [{ index: 0 }, { index: 1, studentCheckpoint: artifact }],
  }));
  photos = path.join(bucket.home, 'photos');
  const other = await S3ObjectStore.connect({ ...bucket.s3.config, bucket: 'uploads', prefix: '', createBucket: true });
  for (const [rel, spec] of SPECS) {
    const bytes = await photoBytes(spec);
    mkdirSync(path.dirname(path.join(photos, rel)), { recursive: true });
    writeFileSync(path.join(photos, rel), bytes);
    await other.put(`day-1/${rel}`, bytes);
  }
  writeFileSync(path.join(photos, 'README.txt'), 'not an image');
  other.close();
});

after(() => bucket.close());

const cli = (args: string[]) => runCli(args, bucket.env);
const lines = (file: string): ClassificationLine[] => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const FILES = SPECS.map(([rel]) => rel).sort();

test('predict RUN DIR writes one JSONL line per image (recursive, sorted), with the top-k classes', async () => {
  const out = path.join(bucket.home, 'out', 'run.jsonl');
  const r = await cli(['predict', 'tiny', photos, '--out', out, '--top-k', '2', '--batch-size', '2']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), out);
  assert.match(r.stderr, /predict: 5 image\(s\), classification by runs\/tiny\/gen-1\/student\/checkpoints\/best\/model\.json \(28x28x1, center-crop\)/);
  const got = lines(out);
  assert.deepEqual(got.map((l) => l.file), FILES);
  for (const l of got) {
    assert.ok(['a', 'b', 'c'].includes(l.class));
    assert.deepEqual(l.top_k.map((t) => t.class).length, 2);
    assert.equal(l.top_k[0].class, l.class);
    assert.ok(l.probability > 1 / 3 && l.probability <= 1);
  }
});

test('predict MODEL.onnx (from selftrain export) gives the checkpoint\'s classes; a CHECKPOINT on an s3:// INPUT the folder\'s lines', async () => {
  const onnxFile = path.join(bucket.home, 'student.onnx');
  assert.equal((await cli(['export', 'tiny', '--format', 'onnx', '--out', onnxFile])).status, 0);
  const fromOnnx = path.join(bucket.home, 'out', 'onnx.jsonl');
  const r = await cli(['predict', onnxFile, photos, '--out', fromOnnx, '--top-k', '2']);
  assert.equal(r.status, 0, r.stderr);
  const reference = lines(path.join(bucket.home, 'out', 'run.jsonl'));
  lines(fromOnnx).forEach((l, i) => {
    assert.equal(l.file, reference[i].file);
    assert.equal(l.class, reference[i].class, l.file);
    assert.ok(Math.abs(l.probability - reference[i].probability) <= 1e-4);
  });
  const fromS3 = path.join(bucket.home, 'out', 's3.jsonl');
  const s = await cli(['predict', `s3://${CHECKPOINT}`, 's3://uploads/day-1', '--out', fromS3, '--top-k', '2']);
  assert.equal(s.status, 0, s.stderr);
  assert.deepEqual(lines(fromS3), reference);
});

test('bad input exits 2 naming the file or key, and leaves no output behind', async () => {
  const onnxFile = path.join(bucket.home, 'student.onnx');
  const exported = onnx.ModelProto.decode(readFileSync(onnxFile));
  const variant = (name: string, edit: (props: onnx.StringStringEntryProto[]) => onnx.StringStringEntryProto[]) => {
    const file = path.join(bucket.home, name);
    writeFileSync(file, onnx.ModelProto.encode({ ...exported, metadataProps: edit(exported.metadataProps) }).finish());
    return file;
  };
  const noClasses = variant('no-classes.onnx', (p) => p.filter((e) => e.key !== 'class_names'));
  const asSegmenter = variant('as-segmenter.onnx', (p) => p.map((e) => (e.key === 'task' ? { ...e, value: 'segmentation' } : e)));
  const broken = path.join(bucket.home, 'broken');
  mkdirSync(broken, { recursive: true });
  writeFileSync(path.join(broken, '1-good.png'), await photoBytes({ width: 28, height: 28, format: 'png' }));
  const jpeg = await photoBytes({ width: 64, height: 64, format: 'jpeg', rects: [{ x0: 3, y0: 3, x1: 50, y1: 60, rgb: [90, 200, 10] }] });
  writeFileSync(path.join(broken, '2-cut.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  mkdirSync(path.join(bucket.home, 'empty'), { recursive: true });
  const outDir = path.join(bucket.home, 'bad-out');
  const out = path.join(outDir, 'x.jsonl');
  const cases: [string[], RegExp][] = [
    [['predict', 'tiny', broken, '--out', out], new RegExp(`${path.join(broken, '2-cut.jpg').replace(/[/.]/g, '\\$&')}: not a valid JPEG`)],
    [['predict', noClasses, photos, '--out', out], /no-classes\.onnx: has no metadata_props key "class_names"/],
    [['predict', asSegmenter, photos, '--out', path.join(outDir, 'masks')], /as-segmenter\.onnx: output logits has shape \[5, 3\]; a segmentation model with 3 classes gives \[batch, 28, 28, 3\]/],
    [['predict', `s3://${MISLABELED}`, photos, '--out', out], /runs\/odd\/model\.json: records task detection with 3 classes, but the model outputs \[batch, 3\]/],
    [['predict', 'nope', photos, '--out', out], /MODEL: no run nope/],
    [['predict', 'tiny', path.join(bucket.home, 'empty'), '--out', out], /INPUT: no JPEG, PNG or WebP images in/],
    [['predict', onnxFile, photos, '--out', out, '--generation', '1'], /--generation: picks a generation of a RUN/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  // Nothing final and no temporary left: the failing runs wrote only under names they removed.
  assert.deepEqual(existsSync(outDir) ? readdirSync(outDir) : [], []);
});
