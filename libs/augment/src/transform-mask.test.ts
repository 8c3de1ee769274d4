import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AugmentStep } from './augment-step.js';
import { rotateMatrix, shearXMatrix } from './geometric-matrices.js';
import { createRng } from '@selftrain/random';
import { scaleJitterMatrix, type ScaleJitter } from './scale-jitter.js';
import { transformMask } from './transform-mask.js';
import { warpAffine } from './warp-affine.js';

const jitterStep = (j: ScaleJitter, h: number, w: number): AugmentStep => ({
  kind: 'affine',
  op: 'FlipScaleJitter',
  value: j.scale,
  matrix: scaleJitterMatrix(j, h, w),
  jitter: j,
});

function labels(h: number, w: number, values: number[], seed = 1): Uint8Array {
  const rng = createRng(seed);
  return Uint8Array.from({ length: h * w }, () => values[rng.int(values.length)]);
}

test('a flip at scale 1 mirrors the mask exactly', () => {
  const mask = Uint8Array.from([1, 2, 3, 4, 5, 6]);
  const flip = jitterStep({ flip: true, scale: 1, scaledHeight: 2, scaledWidth: 3, offsetY: 0, offsetX: 0 }, 2, 3);
  assert.deepEqual([...transformMask(mask, [flip], 2, 3)], [3, 2, 1, 6, 5, 4]);
});

test('padding becomes the ignore label (255 unless told otherwise); the resized part is nearest-neighbour', () => {
  const mask = Uint8Array.from([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  const pad = jitterStep({ flip: false, scale: 0.5, scaledHeight: 2, scaledWidth: 2, offsetY: 1, offsetX: 1 }, 4, 4);
  const I = 255;
  assert.deepEqual([...transformMask(mask, [pad], 4, 4)], [I, I, I, I, I, 1, 2, I, I, 3, 4, I, I, I, I, I]);
  assert.equal(transformMask(mask, [pad], 4, 4, 0).filter((v) => v === 0).length, 12);
  assert.throws(() => transformMask(mask, [pad], 4, 4, 256), /ignoreLabel must be an integer 0..255, got 256/);
  assert.throws(() => transformMask(mask, [pad], 4, 5), /mask has 16 values, expected 20 for 4x5/);
});

test('one affine step matches the image resampler in nearest mode with fill 255', () => {
  const mask = labels(17, 23, [0, 5, 9, 200]);
  for (const m of [rotateMatrix(27, 17, 23), shearXMatrix(-0.27, 17)]) {
    const step: AugmentStep = { kind: 'affine', op: 'Rotate', value: 0, matrix: m };
    const viaWarp = warpAffine({ data: mask, height: 17, width: 23, channels: 1 }, m, { interpolation: 'nearest', fill: 255 });
    assert.deepEqual(transformMask(mask, [step], 17, 23), viaWarp.data);
  }
});

test('pixel and cutout steps leave the mask as it is (Cutout occludes, the label stays); input untouched', () => {
  const mask = labels(6, 6, [0, 1, 2]);
  const before = mask.slice();
  const plan: AugmentStep[] = [
    { kind: 'pixel', op: 'Solarize', value: 100 },
    { kind: 'cutout', op: 'Cutout', value: 3, y0: 1, x0: 1, y1: 4, x1: 4 },
  ];
  const out = transformMask(mask, plan, 6, 6);
  assert.deepEqual(out, before);
  assert.notEqual(out, mask);
  assert.deepEqual(mask, before);
});
