import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend } from '@selftrain/compute';
import { cornerIou, IGNORE_LABEL } from '@selftrain/metrics';
import { buildRetinaNet, buildSegmenter, retinaNetAnchors } from '@selftrain/models';
import { createRng } from '@selftrain/random';
import {
  detect, detectionStep, segmentationStep, SgdMomentum,
  type DenseExample, type GroundTruthBoxes, type StepContext,
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
  // The training steps take records (uint8 pixels); the values above are multiples of 0.2, exact in bytes.
  const examples: DenseExample[] = gts.map((gt, b) => ({
    image: Uint8Array.from(images.subarray(b * size * size, (b + 1) * size * size), (v) => Math.round(v * 255)),
    objects: Array.from(gt.labels, (label, j) => ({ xmin: gt.boxes[j * 4], ymin: gt.boxes[j * 4 + 1], xmax: gt.boxes[j * 4 + 2], ymax: gt.boxes[j * 4 + 3], label })),
    mask: masks[b],
  }));
  return { images: tf.tensor4d(images, [n, size, size, 1]), masks, gts, examples };
}

/** The loop's context for a teacher step without augmentation. */
function stepContext(optimizer: SgdMomentum, learningRate: number): StepContext {
  return { optimizer, learningRate, weights: { human: 1, pseudo: 0 }, augment: { level: 'none', randAugmentN: 2, randAugmentM: 9 }, rng: createRng(1) };
}

test('retinanet: a few dozen SGD steps on wasm halve the focal + box loss, and detect finds the boxes', async (t) => {
  const size = 64;
  const spec = { inputShape: [size, size, 1] as [number, number, number], numClasses: 2, seed: 1 };
  const model = buildRetinaNet(spec);
  const anchors = retinaNetAnchors(spec);
  const { images, gts, examples } = scenes(8, size, 3);
  const optimizer = new SgdMomentum(0.9, 0);
  const tensorsBefore = tf.memory().numTensors;
  const losses: number[] = [];
  const step = detectionStep(model, { height: size, width: size, channels: 1 }, anchors, 2);
  for (let i = 0; i < 40; i++) losses.push((await step(examples, [], stepContext(optimizer, 0.01))).loss);
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
  images.dispose();
  optimizer.dispose();
  model.dispose();
});

test('segmenter: a few dozen SGD steps on wasm halve the ignore-label cross-entropy', async (t) => {
  const size = 64;
  const model = buildSegmenter({ inputShape: [size, size, 1], numClasses: 3, seed: 1 });
  const { images, examples } = scenes(8, size, 5);
  const optimizer = new SgdMomentum(0.9, 0);
  const step = segmentationStep(model, { height: size, width: size, channels: 1 }, 3);
  const losses: number[] = [(await step(examples, [], stepContext(optimizer, 0.05))).loss];
  const tensorsAfterFirst = tf.memory().numTensors;
  for (let i = 1; i < 30; i++) losses.push((await step(examples, [], stepContext(optimizer, 0.05))).loss);
  assert.equal(tf.memory().numTensors, tensorsAfterFirst, 'steps leak no tensors');
  const first = losses[0];
  const last = losses.slice(-3).reduce((a, b) => a + b, 0) / 3;
  t.diagnostic(`loss ${first.toFixed(3)} -> ${last.toFixed(3)}`);
  assert.ok(last < first * 0.5, `loss ${first.toFixed(3)} -> ${last.toFixed(3)}`);
  images.dispose();
  optimizer.dispose();
  model.dispose();
});
