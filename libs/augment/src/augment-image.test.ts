import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AUGMENT_LEVELS } from './augment-level.js';
import { augmentBatch, augmentImage } from './augment-image.js';
import type { AugmentStep } from './augment-step.js';
import { createImage, type Image } from './image.js';
import { createRng } from '@selftrain/random';

function noisy(h: number, w: number, c: number, seed = 9): Image {
  const img = createImage(h, w, c);
  const rng = createRng(seed);
  for (let i = 0; i < img.data.length; i++) img.data[i] = rng.int(256);
  return img;
}

test('same seed gives identical output, for every level and channel count', () => {
  for (const c of [1, 3]) {
    const img = noisy(28, 28, c);
    for (const level of AUGMENT_LEVELS) {
      const a = augmentImage(img, level, createRng(123));
      const b = augmentImage(img, level, createRng(123));
      assert.deepEqual(a.data, b.data, level);
      assert.deepEqual([a.height, a.width, a.channels], [28, 28, c], level);
    }
  }
});

test('different seeds give different outputs', () => {
  const img = noisy(28, 28, 1);
  for (const level of ['s1', 's2', 's3', 's4'] as const) {
    const outs = new Set<string>();
    for (let seed = 0; seed < 8; seed++) outs.add(Buffer.from(augmentImage(img, level, createRng(seed)).data).toString('hex'));
    assert.ok(outs.size >= 6, `${level}: only ${outs.size} distinct outputs of 8`);
  }
});

test("'none' returns an identical copy", () => {
  const img = noisy(5, 6, 3);
  const out = augmentImage(img, 'none', createRng(1));
  assert.deepEqual(out.data, img.data);
  assert.notEqual(out.data, img.data);
});

test('s1 flips: a bright left band ends up on the right exactly when the jitter flipped', () => {
  const img = createImage(28, 28, 1);
  for (let y = 0; y < 28; y++) img.data.fill(255, y * 28, y * 28 + 7);
  let flips = 0;
  for (let seed = 0; seed < 20; seed++) {
    const trace: AugmentStep[] = [];
    const out = augmentImage(img, 's1', createRng(seed), { trace });
    const jitter = trace[0].kind === 'affine' ? trace[0].jitter : undefined;
    assert.ok(jitter);
    let left = 0;
    let right = 0;
    for (let i = 0; i < out.data.length; i++) (i % 28 < 14 ? (left += out.data[i]) : (right += out.data[i]));
    assert.equal(right > left, jitter.flip, `seed ${seed}`);
    if (jitter.flip) flips++;
  }
  assert.ok(flips > 3 && flips < 17);
});

test('s4 with N=2 applies two RandAugment ops, then the scale jitter', () => {
  const img = noisy(28, 28, 1);
  for (let seed = 0; seed < 10; seed++) {
    const trace: AugmentStep[] = [];
    augmentImage(img, 's4', createRng(seed), { trace, randAugmentN: 2, randAugmentM: 9 });
    assert.equal(trace.length, 3);
    assert.equal(trace[2].op, 'FlipScaleJitter');
    assert.ok(trace.slice(0, 2).every((s) => s.op !== 'FlipScaleJitter'));
  }
  const trace: AugmentStep[] = [];
  augmentImage(img, 's4', createRng(0), { trace, randAugmentN: 0 });
  assert.equal(trace.length, 1);
});

test('s3/s4 jitter scales lie in 0.5..2.0, s1/s2 in 0.8..1.2', () => {
  const img = noisy(16, 16, 1);
  for (const [level, lo, hi] of [['s1', 0.8, 1.2], ['s2', 0.8, 1.2], ['s3', 0.5, 2], ['s4', 0.5, 2]] as const) {
    for (let seed = 0; seed < 30; seed++) {
      const trace: AugmentStep[] = [];
      augmentImage(img, level, createRng(seed), { trace });
      const last = trace[trace.length - 1];
      assert.equal(last.op, 'FlipScaleJitter');
      assert.ok(last.value >= lo && last.value < hi, `${level}: ${last.value}`);
    }
  }
});

test('augmentBatch is deterministic per seed and keeps order and shapes', () => {
  const images = [noisy(28, 28, 1, 1), noisy(28, 28, 1, 2), noisy(10, 12, 3, 3)];
  const a = augmentBatch(images, 's4', 77);
  const b = augmentBatch(images, 's4', 77);
  assert.deepEqual(a.map((x) => x.data), b.map((x) => x.data));
  assert.deepEqual(a.map((x) => [x.height, x.width, x.channels]), [[28, 28, 1], [28, 28, 1], [10, 12, 3]]);
});

test('rejects malformed images and fill values', () => {
  const bad: Image = { data: new Uint8Array(5), height: 2, width: 2, channels: 1 };
  assert.throws(() => augmentImage(bad, 's1', createRng(0)), /5 bytes, expected 4/);
  assert.throws(() => augmentImage(noisy(2, 2, 1), 's1', createRng(0), { fill: 300 }), /fill must be an integer 0..255, got 300/);
});
