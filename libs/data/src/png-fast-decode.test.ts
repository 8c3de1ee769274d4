import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import { decodePngFast } from './png-fast-decode';

const COLOR = { 1: 0, 3: 2, 4: 6 } as const;

function noiseImage(w: number, h: number, channels: 1 | 3 | 4, seed: number): Uint8Array {
  let s = seed;
  // Smooth gradients plus noise, so pngjs's adaptive filtering picks every filter type somewhere.
  return Uint8Array.from({ length: w * h * channels }, (_, i) => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const x = (i / channels) % w;
    const y = Math.floor(i / channels / w);
    return (x * 7 + y * 3 + (i % channels) * 40 + (s % 9)) & 255;
  });
}

test('decodes 8-bit grey, RGB and RGBA PNGs exactly as pngjs does, every filter type included', () => {
  for (const channels of [1, 3, 4] as const) {
    for (const [w, h] of [[28, 28], [5, 3], [96, 64], [1, 1]]) {
      const pixels = noiseImage(w, h, channels, w * h + channels);
      for (const filterType of [-1, 0, 1, 2, 3, 4]) {
        const png = PNG.sync.write({ width: w, height: h, data: Buffer.from(pixels) } as PNG, {
          colorType: COLOR[channels], inputColorType: COLOR[channels], inputHasAlpha: channels === 4, bitDepth: 8, filterType,
        });
        const fast = decodePngFast(png, channels);
        assert.ok(fast, `${w}x${h}x${channels} filter ${filterType} was not decoded`);
        assert.deepEqual([fast.width, fast.height], [w, h]);
        assert.deepEqual(Buffer.from(fast.image), Buffer.from(pixels), `${w}x${h}x${channels} filter ${filterType}`);
      }
    }
  }
});

test('what it does not cover is left to pngjs: another channel count, 16-bit, not a PNG, a truncated file', () => {
  const pixels = noiseImage(8, 8, 3, 1);
  const rgb = PNG.sync.write({ width: 8, height: 8, data: Buffer.from(pixels) } as PNG, { colorType: 2, inputColorType: 2, inputHasAlpha: false, bitDepth: 8 });
  assert.equal(decodePngFast(rgb, 1), undefined, 'an RGB PNG for a grey record');
  const rgba16 = PNG.sync.write({ width: 8, height: 8, data: Buffer.alloc(8 * 8 * 4, 7) } as PNG, { colorType: 6, bitDepth: 16 });
  assert.equal(decodePngFast(rgba16, 4), undefined, '16-bit');
  assert.equal(decodePngFast(Buffer.from('not a png at all, just text here'), 1), undefined);
  assert.equal(decodePngFast(rgb.subarray(0, rgb.length - 30), 3), undefined, 'truncated');
});
