import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createImage } from './image.js';
import type { Rng } from '@selftrain/random';
import { type ScaleJitter, sampleScaleJitter, scaleJitterMatrix } from './scale-jitter.js';
import { warpAffine } from './warp-affine.js';

// An Rng that replays fixed next() values, so the jitter's draws are known.
function scripted(values: number[]): Rng {
  let i = 0;
  const rng: Rng = {
    next: () => {
      if (i >= values.length) throw new Error('scripted rng exhausted');
      return values[i++];
    },
    uint32: () => Math.floor(rng.next() * 2 ** 32),
    int: (n) => Math.floor(rng.next() * n),
    uniform: (a, b) => a + (b - a) * rng.next(),
    bool: (p = 0.5) => rng.next() < p,
    fork: () => rng,
  };
  return rng;
}

test('sampling: flip, scale, then integer offsets between 0 and target - scaled', () => {
  // flip no, scale 0.8 -> 8 px of 10, pad offsets int(3) from 0.5 -> 1 and 0.99 -> 2.
  const pad = sampleScaleJitter(scripted([0.9, 0, 0.5, 0.99]), 10, 10, [0.8, 1.2]);
  assert.deepEqual(pad, { flip: false, scale: 0.8, scaledHeight: 8, scaledWidth: 8, offsetY: 1, offsetX: 2 });
  // flip yes, scale 1.2 -> 12 px, crop offsets in [-2, 0].
  const crop = sampleScaleJitter(scripted([0.1, 1, 0, 0.99]), 10, 10, [0.8, 1.2]);
  assert.equal(crop.flip, true);
  assert.equal(crop.scaledWidth, 12);
  assert.equal(crop.offsetY, -2);
  assert.equal(crop.offsetX, 0);
});

test('resize + pad of a known image', () => {
  const img = createImage(4, 4, 1);
  img.data.set([10, 10, 50, 50, 10, 10, 50, 50, 90, 90, 130, 130, 90, 90, 130, 130]);
  const j: ScaleJitter = { flip: false, scale: 0.5, scaledHeight: 2, scaledWidth: 2, offsetY: 1, offsetX: 1 };
  const out = warpAffine(img, scaleJitterMatrix(j, 4, 4), { fill: 7 });
  assert.deepEqual([...out.data], [7, 7, 7, 7, 7, 10, 50, 7, 7, 90, 130, 7, 7, 7, 7, 7]);
});

test('resize + crop of a known image', () => {
  const img = createImage(2, 2, 1);
  img.data.set([0, 100, 0, 100]);
  // Upscale to 4x4 ([0, 25, 75, 100] per row), keep the centre 2x2.
  const j: ScaleJitter = { flip: false, scale: 2, scaledHeight: 4, scaledWidth: 4, offsetY: -1, offsetX: -1 };
  const out = warpAffine(img, scaleJitterMatrix(j, 2, 2));
  assert.deepEqual([...out.data], [25, 75, 25, 75]);
});

test('flip at scale 1 mirrors the image exactly', () => {
  const img = createImage(2, 3, 1);
  img.data.set([1, 2, 3, 4, 5, 6]);
  const j: ScaleJitter = { flip: true, scale: 1, scaledHeight: 2, scaledWidth: 3, offsetY: 0, offsetX: 0 };
  assert.deepEqual([...warpAffine(img, scaleJitterMatrix(j, 2, 3)).data], [3, 2, 1, 6, 5, 4]);
});
