import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend } from '@selftrain/compute';
import { buildSegmenter, MULTI_SCALE_SCALES } from '@selftrain/models';
import { segmentationPredictor, type SegmentationPredictFn } from './dense-predictors';
import { argmaxMask, evaluateSegmenter, scoreSegmentation, type SegmentationRecord } from './score-segmentation';

before(async () => {
  delete process.env.SELFTRAIN_BACKEND;
  assert.equal((await initBackend({ purpose: 'infer' })).name, 'wasm');
});

const rec = (key: string, mask: number[], height: number, width: number): SegmentationRecord => ({
  key, image: new Uint8Array(height * width), height, width, channels: 1, mask: Uint8Array.from(mask),
});
// As a manifest gives them.
const fromManifest = { numClasses: 4, classNames: ['background', 'a', 'b', 'c'], ignoreLabel: 255 };

test('perfect masks: mIoU 1 and every present class 1; ignore pixels count nowhere, whatever is predicted there', () => {
  const r = rec('x', [0, 1, 255, 2, 2, 0], 2, 3);
  const predicted = Uint8Array.from([0, 1, 3, 2, 2, 0]); // class 3 predicted only on an ignore pixel
  const e = scoreSegmentation([r], [predicted], fromManifest);
  assert.deepEqual(e, {
    images: 1, pixels: 5, meanIou: 1, pixelAccuracy: 1,
    perClass: [{ label: 0, className: 'background', iou: 1 }, { label: 1, className: 'a', iou: 1 }, { label: 2, className: 'b', iou: 1 }, { label: 3, className: 'c', iou: null }],
  });
});

test('hand-worked mIoU over two images: IoU = TP / (TP + FP + FN) per class from the summed confusion', () => {
  // image 1: labels 0 0 1 1, predicted 0 1 1 1; image 2: labels 255 2, predicted 0 0.
  // class 0: TP 1, FN 1 (a 0 predicted 1), FP 1 (the 2 predicted 0): 1/3. class 1: TP 2, FP 1: 2/3.
  // class 2: TP 0, FN 1: 0. class 3: absent. mIoU = (1/3 + 2/3 + 0) / 3; pixel accuracy 3/5.
  const records = [rec('p', [0, 0, 1, 1], 2, 2), rec('q', [255, 2], 1, 2)];
  const e = scoreSegmentation(records, [Uint8Array.from([0, 1, 1, 1]), Uint8Array.from([0, 0])], { numClasses: 4 });
  const iou = e.perClass.map((c) => c.iou);
  assert.ok(Math.abs(iou[0]! - 1 / 3) < 1e-12 && Math.abs(iou[1]! - 2 / 3) < 1e-12);
  assert.deepEqual([iou[2], iou[3], e.pixels], [0, null, 5]);
  assert.ok(Math.abs(e.meanIou - 1 / 3) < 1e-12);
  assert.equal(e.pixelAccuracy, 3 / 5);
  assert.deepEqual(e.perClass.map((c) => c.className), ['0', '1', '2', '3']);
  assert.throws(() => scoreSegmentation([{ ...records[0], mask: undefined }], [Uint8Array.from([0, 0, 0, 0])], { numClasses: 4 }), /p has no mask/);
  assert.throws(() => scoreSegmentation(records, [Uint8Array.from([0]), Uint8Array.from([0, 0])], { numClasses: 4 }), /1 pixels/);
});

test('argmax per pixel, ties to the lower class', () => {
  assert.deepEqual([...argmaxMask([0.2, 0.8, 0.5, 0.5, 0.1, 0.9], 2)], [1, 0, 1]);
});

test('evaluateSegmenter: a predictor that returns the labels one-hot scores mIoU 1, in batches, tensors disposed', async () => {
  const records = [rec('a', [0, 1, 2, 255], 2, 2), rec('b', [2, 2, 1, 0], 2, 2), rec('c', [1, 1, 1, 1], 2, 2)];
  let next = 0;
  const oracle: SegmentationPredictFn = (images) => {
    const [b, h, w] = images.shape;
    const masks = Array.from({ length: b }, () => records[next++].mask!);
    const oneHot = new Float32Array(b * h * w * 4);
    masks.forEach((m, i) => m.forEach((v, p) => { oneHot[(i * h * w + p) * 4 + (v === 255 ? 3 : v)] = 1; }));
    return tf.tensor4d(oneHot, [b, h, w, 4]);
  };
  const before = tf.memory().numTensors;
  const { evaluation, masks } = await evaluateSegmenter(records, oracle, { ...fromManifest, batchSize: 2 });
  assert.equal(tf.memory().numTensors, before);
  assert.equal(evaluation.meanIou, 1);
  assert.deepEqual([...masks[0]], [0, 1, 2, 3]);
  next = 0;
  await assert.rejects(evaluateSegmenter(records, oracle, { numClasses: 3 }), /3 classes/);
});

test('a real (untrained) segmenter runs single- and multi-scale, tensors disposed', async () => {
  const model = buildSegmenter({ inputShape: [32, 32, 1], numClasses: 3, fpnChannels: 8, seed: 2 });
  const records = [0, 1].map((k) => rec(`m${k}`, new Array<number>(1024).fill(k), 32, 32));
  const before = tf.memory().numTensors;
  for (const scales of [[1], MULTI_SCALE_SCALES]) {
    const { evaluation, masks } = await evaluateSegmenter(records, segmentationPredictor(model, scales), { numClasses: 3 });
    assert.equal(evaluation.pixels, 2048);
    assert.ok(evaluation.meanIou >= 0 && evaluation.meanIou <= 1);
    assert.ok(masks.every((m) => m.length === 1024 && m.every((v) => v < 3)));
  }
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});
