// Detection and segmentation teachers from ONNX files: a hand-built detector in torchvision's output
// format (boxes in the model input's pixels, scores, labels; one [C, H, W] image per run), and the
// project's own segmenter exported to ONNX, read back against the TF.js checkpoint it came from.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { buildTaskModel } from '@selftrain/checkpoints';
import { initBackend, tf } from '@selftrain/compute';
import { InputError } from '@selftrain/errors';
import { onnx, type TeacherModel } from '@selftrain/proto';
import { segmentationPredictor, TEACHER_DEFAULTS } from '@selftrain/train';
import { encodeOnnx, exportOnnx } from './export-onnx';
import { openOnnxDenseTeacher } from './onnx-dense-teacher';
import { OnnxGraphBuilder, onnxModel } from './onnx-graph-builder';
import { checkTeacherModel, mapDenseTeacherClasses } from './teacher-contract';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function contract(bytes: Uint8Array, over: Partial<TeacherModel> & { pre?: Partial<NonNullable<TeacherModel['preprocess']>> }): TeacherModel {
  const { pre, ...rest } = over;
  return {
    source: 'onnx', model: { key: `teachers/onnx/${sha(bytes)}.onnx`, sha256: sha(bytes), sizeBytes: bytes.length },
    preprocess: { input: '', layout: 'NCHW', height: 64, width: 64, channelOrder: 'RGB', scale: 1 / 255, mean: [], std: [], ...pre },
    output: { kind: 'boxes', name: '' }, classNames: [], ...rest,
  };
}

/** torchvision's COCO-style label space, cut short: index = label id. */
const TEACHER_CLASSES = ['__background__', 'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'toaster'];
const BOXES = [[8, 8, 40, 24], [0, 0, 10, 10], [2, 4, 30, 60]];
const SCORES = [0.9, 0.3, 0.8];
const LABELS = [3, 7, 1];

/**
 * A detector as torchvision exports one: input `images` [3, H, W] in 0..1, outputs boxes [3, 4] (pixels of
 * the 64x64 input), scores [3] and labels [3]. The scores are the constants times the image's brightest
 * value, so they show the image reached the graph.
 */
function handBuiltDetector(): Uint8Array {
  const g = new OnnxGraphBuilder();
  for (const o of ['boxes', 'scores', 'labels']) g.reserve(o);
  const x = g.input('images', [3, 'height', 'width']);
  const brightest = g.op('ReduceMax', [x], 'brightest', { keepdims: 0 });
  g.node('Mul', [g.floatInitializer('base_scores', [3], Float32Array.from(SCORES)), brightest], ['scores']);
  g.node('Identity', [g.floatInitializer('fixed_boxes', [3, 4], Float32Array.from(BOXES.flat()))], ['boxes']);
  g.node('Identity', [g.floatInitializer('fixed_labels', [3], Float32Array.from(LABELS))], ['labels']);
  g.output('boxes', ['detections', 4]);
  g.output('scores', ['detections']);
  g.output('labels', ['detections']);
  return onnx.ModelProto.encode(onnxModel(g.graph('torchvision-style detector'), {}, '0', 'test')).finish();
}

before(async () => {
  delete process.env.SELFTRAIN_BACKEND;
  await initBackend({ purpose: 'infer' });
});

test('a torchvision-style detector: boxes scaled from its input to normalized corners, labels mapped by name, other classes dropped', async () => {
  const bytes = handBuiltDetector();
  const teacher = await openOnnxDenseTeacher(bytes, checkTeacherModel(contract(bytes, { classNames: TEACHER_CLASSES })), 'detection');
  // Two 32x32 grey images (the model takes RGB at 64x64: grey repeated, resized): one bright, one dim.
  const images = tf.tidy(() => tf.concat([tf.fill([1, 32, 32, 1], 1), tf.fill([1, 32, 32, 1], 100 / 255)]) as tf.Tensor4D);
  const found = await teacher.detector(['background', 'car', 'person'])(images);
  images.dispose();
  await teacher.release();
  const box = (b: number[]) => ({ xmin: b[0] / 64, ymin: b[1] / 64, xmax: b[2] / 64, ymax: b[3] / 64 });
  assert.equal(found.length, 2);
  for (const [i, scale] of [[0, 1], [1, 100 / 255]] as const) {
    const want = [{ ...box(BOXES[0]), label: 1, score: 0.9 * scale }, { ...box(BOXES[2]), label: 2, score: 0.8 * scale }];
    assert.deepEqual(found[i].map(({ score, ...b }) => b), want.map(({ score, ...b }) => b), `image ${i}: car -> 1, person -> 2, toaster dropped`);
    found[i].forEach((d, j) => assert.ok(Math.abs(d.score - want[j].score) < 1e-5, `image ${i} box ${j}: ${d.score} vs ${want[j].score}`));
  }
});

test('a segmenter exported to ONNX gives the TF.js checkpoint\'s probabilities, its classes in the dataset\'s order by name', async () => {
  const classes = ['background', 'cat', 'dog'];
  const model = buildTaskModel({ ...TEACHER_DEFAULTS, model: 'segmenter', width: 0.25, seed: 4 }, { height: 32, width: 32, channels: 3 }, 3, 'segmentation');
  const bytes = encodeOnnx(exportOnnx(model, {}));
  // The model's outputs listed in another order than the dataset's: the teacher names them.
  const teacherClasses = ['dog', 'background', 'cat'];
  const teacher = await openOnnxDenseTeacher(bytes, checkTeacherModel(contract(bytes, {
    pre: { layout: 'NHWC', height: 32, width: 32 }, output: { kind: 'logits', name: '' }, classNames: teacherClasses,
  })), 'segmentation');
  const images = tf.tidy(() => tf.div(tf.floor(tf.randomUniform([2, 32, 32, 3], 0, 256, 'float32', 11)), 255) as tf.Tensor4D);
  const got = await teacher.segmenter(classes)(images);
  const want = segmentationPredictor(model)(images) as tf.Tensor4D;
  const [g, w] = [await got.data(), await want.data()];
  tf.dispose([images, got, want]);
  await teacher.release();
  model.dispose();
  // Dataset column c holds the model's output k where teacherClasses[k] === classes[c].
  const column = classes.map((c) => teacherClasses.indexOf(c));
  let max = 0;
  for (let p = 0; p < g.length / 3; p++) for (let c = 0; c < 3; c++) max = Math.max(max, Math.abs(g[p * 3 + c] - w[p * 3 + column[c]]));
  assert.ok(max < 1e-4, `max abs diff ${max}`);
});

test('contract problems name the field: an output kind the task cannot read, missing outputs, a dataset class the teacher lacks', async () => {
  const bytes = handBuiltDetector();
  await assert.rejects(openOnnxDenseTeacher(bytes, checkTeacherModel(contract(bytes, { output: { kind: 'logits', name: '' }, classNames: TEACHER_CLASSES })), 'detection'),
    (e: unknown) => e instanceof InputError && e.field === 'teacher_model.output.kind' && /a detection teacher's output is boxes/.test(e.message));
  await assert.rejects(openOnnxDenseTeacher(bytes, checkTeacherModel(contract(bytes, { output: { kind: 'boxes', name: 'boxes,confidence,labels' }, classNames: TEACHER_CLASSES })), 'detection'),
    (e: unknown) => e instanceof InputError && e.field === 'teacher_model.output.name' && /boxes, scores and labels/.test(e.message));
  assert.throws(() => mapDenseTeacherClasses(TEACHER_CLASSES, ['background', 'car', 'zebra'], 'detection'),
    (e: unknown) => e instanceof InputError && e.field === 'teacher_model.class_names' && e.message.includes('"zebra"') && e.message.includes('toaster'));
  assert.deepEqual(mapDenseTeacherClasses(['background', 'a', 'b', 'c'], ['background', 'c', 'a'], 'segmentation'), [0, 2, -1, 1]);
});
