// The colour ops on RGB against PIL's arithmetic, value by value. Blend and luma cases are worked by hand
// (comments); the histogram ops' expectations come from PIL's ImageOps.equalize / autocontrast code run
// on the same image in plain Python.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { brightness, color, contrast, sharpness } from './enhance-ops.js';
import { autoContrast, equalize } from './histogram-ops.js';
import { createImage, type Image } from './image.js';
import { invert, posterize, solarize } from './lut-ops.js';
import { pilLuma } from './pil-colour.js';

function rgb(height: number, width: number, pixels: number[]): Image {
  const img = createImage(height, width, 3);
  img.data.set(pixels);
  return img;
}

test('PIL luma: (R*19595 + G*38470 + B*7471 + 0x8000) >> 16', () => {
  assert.equal(pilLuma(255, 0, 0), 76);
  assert.equal(pilLuma(0, 0, 255), 29);
  assert.equal(pilLuma(10, 200, 50), 126); // 8,296,268 / 65,536 = 126.59
  assert.equal(pilLuma(250, 250, 250), 250);
});

test('brightness on RGB truncates the float32 blend with black, as PIL does', () => {
  const img = rgb(1, 1, [200, 101, 7]);
  // 100, 50.5 -> 50, 3.5 -> 3 (rounding would give 51 and 4).
  assert.deepEqual([...brightness(img, 0.5).data], [100, 50, 3]);
  // 260 -> 255 (clipped), 101 * float32(1.3) = 131.3 -> 131, 9.1 -> 9.
  assert.deepEqual([...brightness(img, 1.3).data], [255, 131, 9]);
  assert.deepEqual([...brightness(img, 1).data], [200, 101, 7]);
});

test('color on RGB blends each channel with the pixel luma', () => {
  const img = rgb(1, 2, [10, 200, 50, 255, 0, 0]);
  // Luma 126 and 76. Factor 0: grey.
  assert.deepEqual([...color(img, 0).data], [126, 126, 126, 76, 76, 76]);
  // 126 + 0.35 * (10 - 126) = 85.4 -> 85; 126 + 0.35 * 74 = 151.9 -> 151; 126 - 0.35 * 76 = 99.4 -> 99;
  // 76 + 0.35 * 179 = 138.65 -> 138; 76 - 0.35 * 76 = 49.4 -> 49.
  assert.deepEqual([...color(img, 0.35).data], [85, 151, 99, 138, 49, 49]);
  // Extrapolation clips: 126 - 1.5 * 116 < 0; 126 + 1.5 * 74 = 237; 126 - 1.5 * 76 = 12.
  assert.deepEqual([...color(img, 1.5).data.subarray(0, 3)], [0, 237, 12]);
});

test('contrast on RGB blends with int(mean luma + 0.5), the same flat value on every channel', () => {
  // Lumas 126 and 250: mean 188.
  const img = rgb(1, 2, [10, 200, 50, 250, 250, 250]);
  assert.deepEqual([...contrast(img, 0).data], [188, 188, 188, 188, 188, 188]);
  // 188 + 0.25 * (10 - 188) = 143.5 -> 143; 191; 153.5 -> 153; 203.5 -> 203 (rounding: 144, 154, 204).
  assert.deepEqual([...contrast(img, 0.25).data], [143, 191, 153, 203, 203, 203]);
});

test('sharpness on RGB: PIL SMOOTH per channel, borders untouched, blend truncated', () => {
  const px: number[] = [];
  for (let i = 0; i < 9; i++) px.push(...(i === 4 ? [130, 0, 255] : [20, 20, 20]));
  const img = rgb(3, 3, px);
  // Smoothed centre: (8 * 20 + 5 * v) / 13 rounded: 62.3 -> 62, 12.3 -> 12, 110.4 -> 110.
  assert.deepEqual([...sharpness(img, 0).data.subarray(12, 15)], [62, 12, 110]);
  // 62 + 0.5 * 68 = 96; 12 - 0.5 * 12 = 6; 110 + 0.5 * 145 = 182.5 -> 182.
  const half = sharpness(img, 0.5).data;
  assert.deepEqual([...half.subarray(12, 15)], [96, 6, 182]);
  for (let i = 0; i < 9; i++) if (i !== 4) assert.deepEqual([...half.subarray(i * 3, i * 3 + 3)], [20, 20, 20], `border pixel ${i}`);
  // 62 + 2 * 68 = 198; 12 - 24 -> 0; 110 + 290 -> 255.
  assert.deepEqual([...sharpness(img, 2).data.subarray(12, 15)], [198, 0, 255]);
});

/** 24 x 24: R = x*y*7 mod 256, G = 90 + (x + 3y) mod 64, B = 200 (flat: left as is by both ops). */
function testCard(): Image {
  const px: number[] = [];
  for (let y = 0; y < 24; y++) for (let x = 0; x < 24; x++) px.push((x * y * 7) % 256, ((x + 3 * y) % 64) + 90, 200);
  return rgb(24, 24, px);
}

function channelSums(img: Image): number[] {
  const s = [0, 0, 0];
  for (let i = 0; i < img.data.length; i++) s[i % 3] += img.data[i];
  return s;
}

test('equalize on RGB per channel, PIL ImageOps.equalize (step = histogram without its last bin // 256)', () => {
  const out = equalize(testCard());
  assert.deepEqual(channelSums(out), [80872, 80766, 115200]);
  assert.deepEqual([...out.data.subarray(3, 12)], [0, 5, 200, 0, 9, 200, 0, 14, 200]);
  assert.deepEqual([...out.data.subarray((7 * 24 + 5) * 3, (7 * 24 + 5) * 3 + 3)], [255, 135, 200]);
});

test('autocontrast on RGB per channel, PIL ImageOps.autocontrast (int(v * scale + offset))', () => {
  const out = autoContrast(testCard());
  assert.deepEqual(channelSums(out), [67070, 68623, 115200]);
  assert.deepEqual([...out.data.subarray(3, 12)], [0, 4, 200, 0, 8, 200, 0, 12, 200]);
  assert.deepEqual([...out.data.subarray((7 * 24 + 5) * 3, (7 * 24 + 5) * 3 + 3)], [247, 105, 200]);
  // 50..150: 100 maps to int(127.5) = 127 (rounding would give 128).
  assert.deepEqual([...autoContrast(rgb(1, 3, [50, 0, 0, 100, 0, 0, 150, 0, 0])).data].filter((_, i) => i % 3 === 0), [0, 127, 255]);
});

test('posterize, solarize and invert act on every channel of RGB alike', () => {
  const img = rgb(1, 2, [0b10110111, 130, 5, 255, 127, 128]);
  assert.deepEqual([...posterize(img, 2).data], [0b10000000, 128, 0, 192, 64, 128]);
  assert.deepEqual([...solarize(img, 128).data], [255 - 0b10110111, 125, 5, 0, 127, 127]);
  assert.deepEqual([...invert(img).data], [255 - 0b10110111, 125, 250, 0, 128, 127]);
});
