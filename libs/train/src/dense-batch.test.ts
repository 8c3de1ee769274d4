import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '@selftrain/random';
import { initBackend, tf } from '@selftrain/compute';
import { retinaNetAnchors } from '@selftrain/models';
import { assignDetectionTargets } from './detection-targets';
import { detectionBatch, segmentationBatch } from './dense-batch';
import { denseScenes } from './testing/dense-scenes';

const size = 64;
const shape = { height: size, width: size, channels: 1 };
const spec = { inputShape: [size, size, 1] as [number, number, number], numClasses: 2 };
const augment = { level: 's1' as const, randAugmentN: 2, randAugmentM: 9 };

before(async () => {
  await initBackend({ purpose: 'train' });
});

test('detectionBatch packs [0,1] images and assigns the boxes; an image without boxes is all background', async () => {
  const anchors = retinaNetAnchors(spec);
  const examples = denseScenes(4, size, 1, { emptyEvery: 2 });
  assert.equal(examples[1].objects?.length, 0);
  const batch = detectionBatch(examples, shape, anchors, 2);
  assert.deepEqual(batch.images.shape, [4, size, size, 1]);
  const pixels = await batch.images.data();
  assert.ok(pixels.every((v) => v >= 0 && v <= 1));
  assert.equal(pixels[0], Math.fround(examples[0].image[0] / 255));
  const cls = await batch.targets.classTargets.data();
  const n = anchors.count;
  const expected = assignDetectionTargets(anchors, { boxes: examples[0].objects!.flatMap((o) => [o.xmin, o.ymin, o.xmax, o.ymax]), labels: examples[0].objects!.map((o) => o.label) });
  assert.deepEqual(Array.from(cls.subarray(0, n)), Array.from(expected.classTargets), 'no augmentation: the assigner\'s own targets');
  assert.ok(cls.subarray(n, 2 * n).every((c) => c === 0), 'zero boxes: every anchor is background');
  assert.ok(batch.targets.numPositives > 0);
  tf.dispose([batch.images, batch.targets.classTargets, batch.targets.boxTargets]);
});

test('detectionBatch: augmentation is seeded, moves the boxes with the image, drops crowd boxes and rejects stray labels', () => {
  const anchors = retinaNetAnchors(spec);
  const examples = denseScenes(6, size, 2);
  const run = (seed: number) => {
    const b = detectionBatch(examples, shape, anchors, 2, { augment, rng: createRng(seed) });
    const out = { pixels: b.images.dataSync().slice(), gt: b.groundTruth };
    tf.dispose([b.images, b.targets.classTargets, b.targets.boxTargets]);
    return out;
  };
  const a = run(7);
  assert.deepEqual(run(7), a, 'same seed, same batch');
  assert.notDeepEqual(run(8).pixels, a.pixels);
  // A moved box still frames its object: inside a filled square's augmented box the mean stays bright.
  const { pixels, gt } = a;
  let checked = 0;
  for (let b = 0; b < examples.length; b++) {
    const boxes = Array.from(gt[b].boxes);
    for (let j = 0; j < boxes.length / 4; j++) {
      if (gt[b].labels[j] !== 1) continue;
      const [x0, y0, x1, y1] = boxes.slice(j * 4, j * 4 + 4).map((v) => Math.round(v * size));
      let sum = 0;
      let count = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) { sum += pixels[b * size * size + y * size + x]; count++; }
      if (count > 16) assert.ok(sum / count > 0.6, `example ${b} box ${j}: mean ${sum / count} inside the moved box`);
      checked++;
    }
  }
  assert.ok(checked >= 3, `${checked} filled squares checked`);
  const crowd = [{ ...examples[0], objects: [...examples[0].objects!, { xmin: 0, ymin: 0, xmax: 1, ymax: 1, label: 1, isCrowd: true }] }];
  const withCrowd = detectionBatch(crowd, shape, anchors, 2);
  assert.equal(withCrowd.groundTruth[0].labels.length, examples[0].objects!.length);
  tf.dispose([withCrowd.images, withCrowd.targets.classTargets, withCrowd.targets.boxTargets]);
  assert.throws(() => detectionBatch([{ ...examples[0], objects: [{ xmin: 0, ymin: 0, xmax: 0.5, ymax: 0.5, label: 3 }] }], shape, anchors, 2), /label 3/);
  assert.throws(() => detectionBatch([{ image: examples[0].image }], shape, anchors, 2), /no objects/);
});

test('segmentationBatch keeps the ignore label and turns augmentation padding into it', async () => {
  const examples = denseScenes(4, size, 3);
  examples[0].mask!.fill(255, 0, size);
  const plain = segmentationBatch(examples, shape, 3);
  const labels = await plain.labels.data();
  assert.deepEqual(plain.labels.shape, [4, size, size]);
  assert.ok(labels.subarray(0, size).every((v) => v === 255));
  assert.deepEqual(Array.from(labels.subarray(size * size, 2 * size * size)), Array.from(examples[1].mask!));
  // s4 scale jitter down to 0.5 pads most images: padding shows up as 255.
  const jittered = segmentationBatch(denseScenes(8, size, 4), shape, 3, { augment: { ...augment, level: 's4' }, rng: createRng(1) });
  const j = await jittered.labels.data();
  assert.ok(j.some((v) => v === 255), 'padding pixels are ignored');
  assert.ok(j.every((v) => v <= 2 || v === 255));
  tf.dispose([plain.images, plain.labels, jittered.images, jittered.labels]);
  assert.throws(() => segmentationBatch([{ image: examples[0].image }], shape, 3), /no mask/);
  const before = tf.memory().numTensors;
  assert.throws(() => segmentationBatch(examples, shape, 2), /class 2/);
  assert.equal(tf.memory().numTensors, before, 'a rejected batch leaks no image tensor');
});
