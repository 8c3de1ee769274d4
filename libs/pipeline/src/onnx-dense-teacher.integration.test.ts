// A user's ONNX detector or segmenter as generation 0's teacher, on real parts: an S3-compatible server on
// loopback, the four services as processes, Fashion-MNIST scenes, tiny training budgets. The detector is a
// graph built here in torchvision's output format (boxes, scores, labels; one [3, H, W] image per run), its
// label space larger than the dataset's; the segmenter is selftrain's own exported to ONNX, its classes
// listed in another order. Each pseudo-labels, a student trains, and the same evaluator scores both.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { buildTaskModel } from '@selftrain/checkpoints';
import { initBackend } from '@selftrain/compute';
import { FASHION_MNIST_CLASS_NAMES, SCENE_CLASS_NAMES } from '@selftrain/data';
import { encodeOnnx, exportOnnx, exportStockTfjs, OnnxGraphBuilder, onnxModel } from '@selftrain/export';
import type { S3ObjectStore } from '@selftrain/storage';
import { TEACHER_DEFAULTS } from '@selftrain/train';
import { runPipeline, type DriverDeps } from './driver';
import type { ServiceClients } from './service-clients';
import { validateSpec } from './spec';
import { quietDisplay, startLoopbackStack, type LoopbackStack } from './testing/loopback-stack';

let it: LoopbackStack;
let home: string;
let store: S3ObjectStore;
let clients: ServiceClients;
let deps: DriverDeps;

const SCENES = { labeled: 16, unlabeled: 24, val: 8, test: 16, canvas: 64 };
const STUDENT = { max_steps: 4, eval_every: 4, checkpoint_every: 4, batch_size: 4, warmup_steps: 1, width: 0.25 };
const spec = (name: string, task: string, teacher: Record<string, unknown>) => validateSpec({
  name, task, generations: 1, dataset: { prefix: `datasets/scenes-${task}-onnx`, shard_size: 16, scenes: SCENES }, teacher, student: STUDENT,
  labeling: { threshold: 0.1, concurrency: 1 },
});

before(async () => {
  await initBackend({ purpose: 'infer' });
  it = await startLoopbackStack('onnx-dense-it');
  ({ home, store, clients, deps } = it);
});

after(async () => {
  await it?.close();
});

/** torchvision-style label ids: the scenes' ten classes, with a class the dataset lacks at id 7. */
const DETECTOR_CLASSES = ['__background__', ...FASHION_MNIST_CLASS_NAMES.slice(0, 6), 'toaster', ...FASHION_MNIST_CLASS_NAMES.slice(6)];

/** Three fixed boxes (pixels of its 64x64 input) with labels 3 (Pullover), 7 (toaster), 1 (T-shirt/top); scores 0.9, 0.3, 0.8 times the image's brightest value. */
function handBuiltDetector(): Uint8Array {
  const g = new OnnxGraphBuilder();
  for (const o of ['boxes', 'scores', 'labels']) g.reserve(o);
  const x = g.input('images', [3, 'height', 'width']);
  const brightest = g.op('ReduceMax', [x], 'brightest', { keepdims: 0 });
  g.node('Mul', [g.floatInitializer('base_scores', [3], Float32Array.from([0.9, 0.3, 0.8])), brightest], ['scores']);
  g.node('Identity', [g.floatInitializer('fixed_boxes', [3, 4], Float32Array.from([8, 8, 40, 24, 0, 0, 10, 10, 2, 4, 30, 60]))], ['boxes']);
  g.node('Identity', [g.floatInitializer('fixed_labels', [3], Float32Array.from([3, 7, 1]))], ['labels']);
  g.output('boxes', ['detections', 4]);
  g.output('scores', ['detections']);
  g.output('labels', ['detections']);
  return encodeOnnx(onnxModel(g.graph('torchvision-style detector'), {}, '0', 'test'));
}

test('a torchvision-style ONNX detector teaches: its boxes (classes mapped by name, the unknown one dropped) label the pool, a student trains, the evaluator scores both', async () => {
  const file = path.join(home, 'detector.onnx');
  writeFileSync(file, handBuiltDetector());
  const record = await runPipeline(spec('onnx-detector', 'detection', {
    source: 'onnx', model: file, preprocess: { layout: 'NCHW', size: 64, scale: 1 / 255 }, output: { kind: 'boxes' }, class_names: DETECTOR_CLASSES,
  }), deps);
  assert.equal(record.state, 'succeeded');
  const g = record.generations[0];
  assert.equal(g.teacher?.jobId, '', 'nothing trained the teacher');
  // Every unlabeled scene gets the Pullover and T-shirt/top boxes (score >= 0.1), never the toaster's.
  const stats = g.labelStats!;
  assert.equal(stats.records, SCENES.unlabeled);
  assert.equal(stats.boxes, 2 * SCENES.unlabeled);
  assert.equal(stats.keptPerClass[SCENE_CLASS_NAMES.indexOf('Pullover')], SCENES.unlabeled);
  assert.equal(stats.keptPerClass[SCENE_CLASS_NAMES.indexOf('T-shirt/top')], SCENES.unlabeled);
  assert.equal(stats.keptPerClass.reduce((a, b) => a + b, 0), 2 * SCENES.unlabeled);
  // Scored like a trained teacher: COCO box AP on the test split, by the same evaluator as the student.
  assert.equal(g.teacherEval?.backend, 'onnxruntime-node (cpu)');
  assert.equal(g.teacherEval?.count, SCENES.test);
  assert.ok(g.teacherEval?.detection && g.teacherEval.detection.detections === 2 * SCENES.test, `teacher detections ${g.teacherEval?.detection?.detections}`);
  assert.ok(g.studentEval?.detection, 'the student is scored with the same metric');
});

test('selftrain\'s segmenter exported to ONNX teaches a segmentation run: every pixel of the pool labeled or ignored, both scored by mIoU', async () => {
  const model = buildTaskModel({ ...TEACHER_DEFAULTS, model: 'segmenter', width: 0.25, seed: 2 }, { height: 64, width: 64, channels: 1 }, SCENE_CLASS_NAMES.length, 'segmentation');
  const file = path.join(home, 'segmenter.onnx');
  writeFileSync(file, encodeOnnx(exportOnnx(model, {})));
  model.dispose();
  const record = await runPipeline(spec('onnx-segmenter', 'segmentation', {
    source: 'onnx', model: file, preprocess: { layout: 'NHWC', scale: 1 / 255 }, output: { kind: 'logits' }, class_names: SCENE_CLASS_NAMES,
  }), deps);
  assert.equal(record.state, 'succeeded');
  const g = record.generations[0];
  assert.equal(g.labelStats?.records, SCENES.unlabeled);
  assert.equal(g.labelStats?.pixels, SCENES.unlabeled * 64 * 64);
  assert.equal(g.teacherEval?.backend, 'onnxruntime-node (cpu)');
  assert.ok(g.teacherEval?.segmentation && g.studentEval?.segmentation, 'teacher and student scored by mIoU');
});

test('the same segmenter as a stock TF.js model (selftrain export --format tfjs) teaches the same run: its labels and teacher mIoU are the ONNX file\'s', async () => {
  const model = buildTaskModel({ ...TEACHER_DEFAULTS, model: 'segmenter', width: 0.25, seed: 2 }, { height: 64, width: 64, channels: 1 }, SCENE_CLASS_NAMES.length, 'segmentation');
  const dir = path.join(home, 'segmenter-tfjs');
  mkdirSync(dir);
  const stock = await exportStockTfjs(model, {}, [64, 64]);
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify(stock.modelJson));
  writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(stock.weightData));
  model.dispose();
  const record = await runPipeline(spec('tfjs-segmenter', 'segmentation', {
    source: 'tfjs', model: path.join(dir, 'model.json'), preprocess: { layout: 'NHWC', scale: 1 / 255 }, output: { kind: 'logits' }, class_names: SCENE_CLASS_NAMES,
  }), deps);
  assert.equal(record.state, 'succeeded');
  const onnx = (await store.getJson<{ generations: { labelStats: { pixels: number; ignoredPixels: number }; teacherEval: { segmentation: { meanIou: number } } }[] }>('runs/onnx-segmenter/run.json')).generations[0];
  const g = record.generations[0];
  assert.equal(g.labelStats?.pixels, SCENES.unlabeled * 64 * 64);
  // The same weights on TF.js and onnxruntime: the same pixels ignored (a pixel at the threshold may flip), the same teacher mIoU.
  assert.ok(Math.abs((g.labelStats?.ignoredPixels ?? 0) - onnx.labelStats.ignoredPixels) <= 5, `ignored ${g.labelStats?.ignoredPixels} vs ${onnx.labelStats.ignoredPixels}`);
  assert.ok(Math.abs((g.teacherEval?.segmentation?.meanIou ?? 0) - onnx.teacherEval.segmentation.meanIou) < 1e-3, `mIoU ${g.teacherEval?.segmentation?.meanIou} vs ${onnx.teacherEval.segmentation.meanIou}`);
});
