import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyStep } from './apply-step.js';
import { createImage } from './image.js';
import { createRng } from '@selftrain/random';
import { RANDAUGMENT_OPS, sampleOp } from './sample-op.js';

const PARAMETERLESS = new Set(['AutoContrast', 'Equalize', 'Invert']);

function noisy(h: number, w: number, c: number) {
  const img = createImage(h, w, c);
  const rng = createRng(3);
  for (let i = 0; i < img.data.length; i++) img.data[i] = rng.int(256);
  return img;
}

test('every op with a magnitude is the identity at strength 0', () => {
  for (const channels of [1, 3]) {
    const img = noisy(12, 10, channels);
    for (const op of RANDAUGMENT_OPS) {
      if (PARAMETERLESS.has(op)) continue;
      const out = applyStep(img, sampleOp(op, 0, 12, 10, createRng(1)));
      assert.deepEqual(out.data, img.data, `${op} at strength 0 changed the image`);
    }
  }
});

test('full-strength parameters match the paper ranges', () => {
  const rng = createRng(5);
  const abs = (op: (typeof RANDAUGMENT_OPS)[number], h = 331, w = 331) => Math.abs(sampleOp(op, 1, h, w, rng).value);
  assert.equal(abs('Rotate'), 30);
  assert.equal(abs('ShearX'), 0.3);
  assert.ok(Math.abs(abs('TranslateX') - 150) < 1e-9);
  assert.ok(Math.abs(abs('TranslateY', 28, 28) - (150 / 331) * 28) < 1e-9);
  assert.equal(sampleOp('Solarize', 1, 8, 8, rng).value, 0);
  assert.equal(sampleOp('Posterize', 1, 8, 8, rng).value, 4);
  assert.ok([0.1, 1.9].some((f) => Math.abs(sampleOp('Contrast', 1, 8, 8, rng).value - f) < 1e-9));
  assert.equal(sampleOp('Cutout', 1, 224, 224, rng).value, 80);
});

test('every op keeps the image shape', () => {
  const img = noisy(9, 7, 3);
  const rng = createRng(11);
  for (const op of RANDAUGMENT_OPS) {
    const out = applyStep(img, sampleOp(op, 0.9, 9, 7, rng), 0);
    assert.deepEqual([out.height, out.width, out.channels, out.data.length], [9, 7, 3, 9 * 7 * 3], op);
  }
});
