import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend } from '@selftrain/compute';
import type { ImageRecord } from '@selftrain/data';
import { FailedPreconditionError } from '@selftrain/errors';
import { buildRetinaNet, buildSegmenter, retinaNetAnchors } from '@selftrain/models';
import { resolveDetectionLabelingOptions, resolveSegmentationLabelingOptions } from './dense-labeling-options';
import { assertEnoughPseudoBoxes, assertEnoughPseudoPixels } from './dense-pseudo-label-guards';
import { retinaNetDetector, segmentationPredictor, type DetectFn } from '@selftrain/train';
import { labelDetectionRecords, labelingDecodeOptions } from './label-detection-records';
import { labelSegmentationRecords } from './label-segmentation-records';

before(async () => {
  delete process.env.SELFTRAIN_BACKEND;
  assert.equal((await initBackend({ purpose: 'infer' })).name, 'wasm');
});

const records = (n: number, size: number): ImageRecord[] =>
  Array.from({ length: n }, (_, i) => ({ key: `u${i}`, image: new Uint8Array(size * size).fill(i * 50), height: size, width: size, channels: 1 }));

test('detection: the detector sees batches of [0, 1] images and its boxes become pseudo-labels with statistics', async () => {
  const seen: { shape: number[]; first: number }[] = [];
  // Image i (pixel value 50 i / 255) gets one box of score 50 i / 255 + 0.3: images 2.. reach 0.5.
  const stub: DetectFn = async (images) => {
    const data = await images.data();
    const [b, h, w] = images.shape;
    seen.push({ shape: images.shape, first: data[0] });
    return Array.from({ length: b }, (_, i) => [{ xmin: 0.1, ymin: 0.2, xmax: 0.3, ymax: 0.4, label: 1, score: data[i * h * w] + 0.3 }]);
  };
  const before = tf.memory().numTensors;
  const o = resolveDetectionLabelingOptions({ threshold: 0.5, batchSize: 2, dropEmptyImages: true });
  const { records: out, stats } = await labelDetectionRecords(records(5, 8), stub, 2, o, [{ key: 'h', objects: [] }]);
  assert.equal(tf.memory().numTensors, before, 'every batch tensor is disposed');
  assert.deepEqual(seen.map((s) => s.shape), [[2, 8, 8, 1], [2, 8, 8, 1], [1, 8, 8, 1]]);
  assert.ok(Math.abs(seen[1].first - 100 / 255) < 1e-6);
  // scores .3, .496, .692, .888, 1.084 (clipped to 1 in the histogram): images u2..u4 kept
  assert.deepEqual(out.map((r) => r.key), ['u2', 'u3', 'u4']);
  assert.deepEqual(out[0].objects, [{ xmin: 0.1, ymin: 0.2, xmax: 0.3, ymax: 0.4, label: 1 }]);
  assert.deepEqual([stats.images, stats.imagesWithBoxes, stats.keptImages, stats.droppedImages, stats.boxes, stats.humanBoxesPerImage], [5, 3, 3, 2, 3, 0]);
  assert.deepEqual(stats.keptPerClass, [0, 3]);
  assert.deepEqual(stats.droppedPerClass, [0, 2]);
  assert.deepEqual(stats.scoreHistogram, [0, 0, 0, 1, 1, 0, 1, 0, 1, 1]);
});

test('detection: an untrained RetinaNet (class prior 0.01) keeps nothing, and the guard says so', async () => {
  const spec = { inputShape: [32, 32, 1] as [number, number, number], numClasses: 2, fpnChannels: 8, maxLevel: 5, headConvs: 1, seed: 1 };
  const model = buildRetinaNet(spec);
  const before = tf.memory().numTensors;
  const o = resolveDetectionLabelingOptions({ nms: 'soft-nms' });
  const { records: out, stats } = await labelDetectionRecords(records(3, 32), retinaNetDetector(model, retinaNetAnchors(spec), labelingDecodeOptions(o)), 3, o);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(out.length, 3, 'kept as background');
  assert.ok(out.every((r) => r.objects!.length === 0));
  assert.equal(stats.boxes, 0);
  assert.throws(() => assertEnoughPseudoBoxes(stats), FailedPreconditionError);
  model.dispose();
});

test('detection: the nms option reaches the detector: hard NMS keeps two boxes at IoU 0.4, Soft-NMS (sigma 0.3) decays one under 0.5', async () => {
  const spec = { inputShape: [64, 64, 1] as [number, number, number], numClasses: 1 };
  const anchors = retinaNetAnchors(spec);
  // Two anchors of one location of P3 (8x8 cells, 9 anchors each), square, scales 1 and 2^(2/3):
  // nested squares of sides 32 and 50.8 px, IoU 2^(-4/3) = 0.397, inside the image.
  const cell = (3 * 8 + 3) * 9;
  const [small, big] = [cell + 3, cell + 5];
  const logit = (p: number) => Math.log(p / (1 - p));
  const logits = new Float32Array(anchors.count).fill(-10);
  logits[small] = logit(0.9);
  logits[big] = logit(0.6);
  // A stand-in RetinaNet: known class logits, zero box deltas (each box is its anchor).
  const model = {
    predict: () => [tf.tensor3d(logits, [1, anchors.count, 1]), tf.zeros([1, anchors.count, 4])],
  } as unknown as tf.LayersModel;
  const run = async (nms: 'nms' | 'soft-nms') => {
    const o = resolveDetectionLabelingOptions({ nms });
    return labelDetectionRecords(records(1, 64), retinaNetDetector(model, anchors, labelingDecodeOptions(o)), 2, o);
  };
  const hard = await run('nms');
  assert.equal(hard.records[0].objects!.length, 2);
  const b = hard.records[0].objects![1];
  assert.ok(Math.abs((b.xmax - b.xmin) * 64 - 32 * 2 ** (2 / 3)) < 1e-3, 'the second box is the big anchor');
  const soft = await run('soft-nms');
  // 0.6 * exp(-0.397^2 / 0.3) = 0.35: kept by hard NMS, under the threshold after Soft-NMS.
  assert.deepEqual(soft.records[0].objects!.map((o) => o.label), [1]);
  assert.deepEqual(soft.stats.droppedPerClass, [0, 1]);
  assert.deepEqual(soft.stats.scoreHistogram, [0, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
});

/**
 * A stand-in segmenter whose output depends only on the size it is given: logits [0, (h - 40) / 8] at
 * every pixel, so each scale's probabilities are known and constant (bilinear resizing keeps them).
 */
const sizeDependentModel = {
  predict: (x: tf.Tensor4D) => tf.tidy(() => {
    const [b, h, w] = x.shape;
    return tf.concat([tf.zeros([b, h, w, 1]), tf.fill([b, h, w, 1], (h - 40) / 8)], 3);
  }),
} as unknown as tf.LayersModel;

test('segmentation: probabilities are averaged over the six scales before the threshold', async () => {
  // A 32x32 image at .5 .75 1 1.25 1.5 1.75 is run at 32 32 32 40 48 56 (at least 32): z = -1 -1 -1 0 1 2.
  const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
  const p1 = [-1, -1, -1, 0, 1, 2].map(sigmoid).reduce((a, b) => a + b) / 6; // 0.4865: class 0 wins at 0.5135
  const before = tf.memory().numTensors;
  const o = resolveSegmentationLabelingOptions({ batchSize: 2 });
  const avg = await labelSegmentationRecords(records(3, 32), segmentationPredictor(sizeDependentModel, o.scales), 2, o);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(avg.records.length, 3);
  assert.ok(avg.records.every((r) => r.mask!.length === 32 * 32 && r.mask!.every((v) => v === 0)));
  assert.deepEqual([avg.stats.pixelsPerClass, avg.stats.imagesPerClass, avg.stats.ignoreFraction], [[3 * 1024, 0], [3, 0], 0]);
  assert.equal(avg.stats.confidenceHistogram[Math.floor((1 - p1) * 10)], 3 * 1024);
  // At 0.52 the average (0.5135) is under the threshold everywhere, though scale 1 alone (0.731) is not.
  const strict = resolveSegmentationLabelingOptions({ threshold: 0.52 });
  const ignored = await labelSegmentationRecords(records(1, 32), segmentationPredictor(sizeDependentModel, strict.scales), 2, strict);
  assert.ok(ignored.records[0].mask!.every((v) => v === 255));
  assert.equal(ignored.stats.ignoreFraction, 1);
  assert.throws(() => assertEnoughPseudoPixels(ignored.stats), FailedPreconditionError);
  const single = await labelSegmentationRecords(records(1, 32), segmentationPredictor(sizeDependentModel, [1]), 2, strict);
  assert.equal(single.stats.ignoreFraction, 0);
  assert.ok(Math.abs(1 - p1 - 0.5135) < 1e-4);
});

test('segmentation: a real (untrained) FPN segmenter at six scales gives a mask per image; the ignore label is the option\'s', async () => {
  const model = buildSegmenter({ inputShape: [32, 32, 1], numClasses: 3, fpnChannels: 8, seed: 3 });
  const before = tf.memory().numTensors;
  const o = resolveSegmentationLabelingOptions({ threshold: 0.99, ignoreLabel: 200 });
  const { records: out, stats } = await labelSegmentationRecords(records(2, 32), segmentationPredictor(model, o.scales), 3, o);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(out.length, 2);
  assert.ok(out.every((r) => r.mask!.length === 1024 && r.mask!.every((v) => v === 200)), 'an untrained model is never 99% sure');
  assert.equal(stats.pixels, 2048);
  assert.equal(stats.confidenceHistogram.reduce((a, b) => a + b), 2048);
  assert.throws(() => assertEnoughPseudoPixels(stats), /kept 0 of 2048 pixels/);
  await assert.rejects(labelSegmentationRecords(records(1, 32), segmentationPredictor(model, [1]), 4, o), /4 classes/);
  model.dispose();
});
