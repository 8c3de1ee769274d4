import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { readImageHeader } from './image-header';

const rgb = (w: number, h: number) => sharp(Buffer.alloc(w * h * 3, 90), { raw: { width: w, height: h, channels: 3 } });

test('readImageHeader: size and grey-ness of JPEG (baseline, progressive, EXIF-rotated), PNG and WebP, as the decoder sees them', async () => {
  const cases: [string, Buffer, { width: number; height: number; grey: boolean }][] = [
    ['jpeg', await rgb(40, 20).jpeg().toBuffer(), { width: 40, height: 20, grey: false }],
    ['progressive jpeg', await rgb(40, 20).jpeg({ progressive: true }).toBuffer(), { width: 40, height: 20, grey: false }],
    ['grey jpeg', await rgb(40, 20).toColourspace('b-w').jpeg().toBuffer(), { width: 40, height: 20, grey: true }],
    // Orientation 6 (rotate 90): stored 40x20, upright 20x40.
    ['rotated jpeg', await rgb(40, 20).jpeg().withMetadata({ orientation: 6 }).toBuffer(), { width: 20, height: 40, grey: false }],
    ['png', await rgb(33, 17).png().toBuffer(), { width: 33, height: 17, grey: false }],
    ['grey png', await rgb(33, 17).toColourspace('b-w').png().toBuffer(), { width: 33, height: 17, grey: true }],
    ['lossy webp', await rgb(30, 10).webp().toBuffer(), { width: 30, height: 10, grey: false }],
    ['lossless webp', await rgb(30, 10).webp({ lossless: true }).toBuffer(), { width: 30, height: 10, grey: false }],
  ];
  for (const [name, bytes, want] of cases) {
    const h = readImageHeader(bytes);
    assert.deepEqual(h && { width: h.width, height: h.height, grey: h.grey }, want, name);
    const meta = await sharp(bytes).metadata();
    const swap = (meta.orientation ?? 1) >= 5;
    assert.deepEqual([h!.width, h!.height], swap ? [meta.height, meta.width] : [meta.width, meta.height], `${name}: agrees with libvips`);
  }
  assert.equal(readImageHeader(Buffer.from('plain text')), undefined);
  const jpg = await rgb(40, 20).jpeg().toBuffer();
  assert.equal(readImageHeader(jpg.subarray(0, 8)), undefined, 'a header cut off before the frame');
});
