import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend } from '@selftrain/compute';
import { cornerIou, IGNORE_LABEL } from '@selftrain/metrics';
import { buildRetinaNet, buildSegmenter, retinaNetAnchors } from '@selftrain/models';
import {
  detect, detectionTargetTensors, detectionTrainStep, segmentationTrainStep, SgdMomentum,
  type GroundTruthBoxes,
} from './index';

before(async () => {
  delete process.env.SELFTRAIN_BACKEND;
  assert.equal((await initBackend({ purpose: 'train' })).name, 'wasm');
});

/** Seeded synthetic scenes: 1-2 squares per image, class 1 bright and filled, class 2 a dimmer frame. */
function scenes(n: number, size: number, seed: number) {
  let s = seed;
  const rand = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
  const images = new Float32Array(n * size * size);
  const masks: Uint8Array[] = [];
  const gts: GroundTruthBoxes[] = [];
  for (let b = 0; b < n; b++) {
    const mask = new Uint8Array(size * size);
    const boxes: number[] = [];
    const labels: number[] = [];
    const count = 1 + Math.floor(rand() * 2);
    for (let k = 0; k < count; k++) {
      const side = Math.floor(size * (0.25 + rand() * 0.25));
      const x0 = Math.floor(rand() * (size - side));
      const y0 = Math.floor(rand() * (size - side));
      const label = 1 + Math.floor(rand() * 2);
      for (let y = y0; y < y0 + side; y++) {
        for (let x = x0; x < x0 + side; x++) {
          const edge = y - y0 < 3 || y0 + side - 1 - y < 3 || x - x0 < 3 || x0 + side - 1 - x < 3;
          if (label === 2 && !edge) continue;
          images[b * size * size + y * size + x] = label === 1 ? 1 : 0.6;
          mask[y * size + x] = label;
        }
      }
      boxes.push(x0 / size, y0 / size, (x0 + side) / size, (y0 + side) / size);
      labels.push(label);
    }
    // A band of ignore pixels along the top, as augmentation padding leaves them.
    mask.fill(IGNORE_LABEL, 0, 2 * size);
    masks.push(mask);
    gts.push({ boxes, labels });
  }
  return { images: tf.tensor4d(images, [n, size, size, 1]), masks, gts };
}

test('retinanet: a few dozen SGD steps on wasm halve the focal + box loss, and detect finds the boxes', async (t) => {
  const size = 64;
  const spec = { inputShape: [size, size, 1] as [number, number, number], numClasses: 2, seed: 1 };
  const model = buildRetinaNet(spec);
  const anchors = retinaNetAnchors(spec);
  const { images, gts } = scenes(8, size, 3);
  const targets = detectionTargetTensors(anchors, gts);
  const optimizer = new SgdMomentum(0.9, 0);
  const tensorsBefore = tf.memory().numTensors;
  const losses: number[] = [];
  for (let step = 0; step < 40; step++) losses.push(detectionTrainStep(model, images, targets, optimizer, 0.01).total);
  const first = losses[0];
  const last = losses.slice(-3).reduce((a, b) => a + b, 0) / 3;
  t.diagnostic(`loss ${first.toFixed(3)} -> ${last.toFixed(3)}`);
  assert.ok(last < first * 0.5, `loss ${first.toFixed(3)} -> ${last.toFixed(3)}`);
  const variables = optimizer.exportState(model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val)).length;
  assert.equal(tf.memory().numTensors, tensorsBefore + variables, 'steps leak nothing (the optimizer holds one velocity per weight)');
  const dets = await detect(model, images, anchors, { scoreThreshold: 0.05 });
  assert.equal(dets.length, 8);
  assert.ok(dets.every((d) => d.every((x) => x.label >= 1 && x.label <= 2 && x.xmin >= 0 && x.xmax <= 1)));
  // The best detection of an image is one of its boxes (IoU >= 0.5, right class) on most images.
  const hits = dets.filter((d, b) => d.length > 0 && Array.from(gts[b].labels).some((label, j) => label === d[0].label &&
    cornerIou(d[0], { xmin: gts[b].boxes[j * 4] as number, ymin: gts[b].boxes[j * 4 + 1] as number, xmax: gts[b].boxes[j * 4 + 2] as number, ymax: gts[b].boxes[j * 4 + 3] as number }) >= 0.5)).length;
  t.diagnostic(`top detection right on ${hits}/8 images`);
  assert.ok(hits >= 6, `top detection right on ${hits}/8 images`);
  tf.dispose([images, targets.classTargets, targets.boxTargets]);
  optimizer.dispose();
  model.dispose();
});

test('segmenter: a few dozen SGD steps on wasm halve the ignore-label cross-entropy', (t) => {
  const size = 64;
  const model = buildSegmenter({ inputShape: [size, size, 1], numClasses: 3, seed: 1 });
  const { images, masks } = scenes(8, size, 5);
  const labels = tf.tensor3d(Int32Array.from(masks.flatMap((m) => Array.from(m))), [8, size, size], 'int32');
  const optimizer = new SgdMomentum(0.9, 0);
  const losses: number[] = [segmentationTrainStep(model, images, labels, optimizer, 0.05)];
  const tensorsAfterFirst = tf.memory().numTensors;
  for (let step = 1; step < 30; step++) losses.push(segmentationTrainStep(model, images, labels, optimizer, 0.05));
  assert.equal(tf.memory().numTensors, tensorsAfterFirst, 'steps leak no tensors');
  const first = losses[0];
  const last = losses.slice(-3).reduce((a, b) => a + b, 0) / 3;
  t.diagnostic(`loss ${first.toFixed(3)} -> ${last.toFixed(3)}`);
  assert.ok(last < first * 0.5, `loss ${first.toFixed(3)} -> ${last.toFixed(3)}`);
  tf.dispose([images, labels]);
  optimizer.dispose();
  model.dispose();
});
