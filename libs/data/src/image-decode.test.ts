import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { InputError } from '@selftrain/errors';
import sharp from 'sharp';
import { decodeImage, decodeImageFile, sniffImageFormat } from './image-decode';

const FIXTURES = path.join(__dirname, '..', 'fixtures');

/** A W x H RGB test card: red ramp across, green ramp down, blue constant (smooth, so JPEG keeps it close). */
function card(width: number, height: number): Buffer {
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      px[i] = Math.round((x * 255) / (width - 1));
      px[i + 1] = Math.round((y * 255) / (height - 1));
      px[i + 2] = 100;
    }
  }
  return px;
}

const raw = (px: Buffer, width: number, height: number, channels: 1 | 3 | 4 = 3) => sharp(px, { raw: { width, height, channels } });

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

/** A PNG of any bit depth and colour type, chunk by chunk (no encoder here writes 1-bit grey or a tRNS palette). */
function png(width: number, height: number, depth: number, colorType: number, rows: Buffer[], extra: [string, Buffer][] = []): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body) >>> 0);
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = depth;
  ihdr[9] = colorType;
  const scan = Buffer.concat(rows.map((r) => Buffer.concat([Buffer.from([0]), r])));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...extra.map(([t, d]) => chunk(t, d)),
    chunk('IDAT', deflateSync(scan)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

async function rejectsInput(p: Promise<unknown>, field: string, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: Error) => {
    assert.ok(err instanceof InputError, `expected an InputError, got ${err}`);
    assert.equal(err.field, field);
    assert.match(err.message, pattern);
    return true;
  });
}

test('baseline and progressive JPEGs decode to the pixels they were made from (within JPEG loss)', async () => {
  const px = card(40, 24);
  for (const progressive of [false, true]) {
    const jpg = await raw(px, 40, 24).jpeg({ quality: 95, progressive, chromaSubsampling: '4:4:4' }).toBuffer();
    assert.equal((await sharp(jpg).metadata()).isProgressive, progressive);
    const d = await decodeImage(jpg, 'card.jpg', { channels: 3 });
    assert.deepEqual([d.height, d.width, d.channels, d.format, d.originalHeight, d.originalWidth], [24, 40, 3, 'jpeg', 24, 40]);
    assert.ok(meanAbsDiff(d.pixels, px) < 2.5, `progressive=${progressive}: mean |diff| ${meanAbsDiff(d.pixels, px)}`);
  }
});

test('CIFAR-10 JPEGs decode as an independent decoder (libjpeg-turbo djpeg) decodes them', async () => {
  for (const name of ['airplane-0000', 'cat-0001', 'ship-0002', 'frog-0003']) {
    const d = await decodeImageFile(path.join(FIXTURES, 'cifar10', `${name}.jpg`), { channels: 3 });
    assert.deepEqual([d.height, d.width, d.channels], [32, 32, 3]);
    // The .ppm beside each JPEG is djpeg's output (binary PPM: a 15-byte header for 32x32x255).
    const ppm = readFileSync(path.join(FIXTURES, 'cifar10', `${name}.ppm`));
    const ref = ppm.subarray(ppm.length - 32 * 32 * 3);
    let max = 0;
    for (let i = 0; i < ref.length; i++) max = Math.max(max, Math.abs(ref[i] - d.pixels[i]));
    assert.ok(max <= 2, `${name}: max |diff| to djpeg ${max}`);
  }
});

test('EXIF orientation is applied: a JPEG stored on its side comes out upright', async () => {
  // Stored 16 wide x 8 high, left half red, right half blue; orientation 6 = rotate 90 degrees clockwise to display.
  const w = 16;
  const h = 8;
  const px = Buffer.alloc(w * h * 3);
  for (let i = 0; i < w * h; i++) px[i * 3 + ((i % w) < w / 2 ? 0 : 2)] = 255;
  const jpg = await raw(px, w, h).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
  const d = await decodeImage(jpg, 'side.jpg', { channels: 3 });
  assert.deepEqual([d.width, d.height, d.originalWidth, d.originalHeight], [8, 16, 8, 16]);
  // After a clockwise quarter turn the stored left half (red) is on top.
  const top = d.pixels[(2 * 8 + 4) * 3];
  const bottom = d.pixels[(13 * 8 + 4) * 3];
  assert.ok(top > 200 && bottom < 50, `red at top ${top}, bottom ${bottom}`);
});

test('a CMYK JPEG comes out as RGB of about the same colour', async () => {
  const px = Buffer.alloc(16 * 16 * 3);
  for (let i = 0; i < 256; i++) px.set([200, 40, 40], i * 3);
  const jpg = await raw(px, 16, 16).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer();
  const meta = await sharp(jpg).metadata();
  assert.deepEqual([meta.space, meta.channels], ['cmyk', 4]);
  const d = await decodeImage(jpg, 'cmyk.jpg', { channels: 3 });
  assert.equal(d.channels, 3);
  const [r, g, b] = d.pixels.subarray(8 * 16 * 3 + 8 * 3);
  assert.ok(Math.abs(r - 200) < 25 && Math.abs(g - 40) < 25 && Math.abs(b - 40) < 25, `got ${r},${g},${b}`);
});

test('PNG: 1-bit and 16-bit grey, 16-bit RGB, palette with transparency, grey+alpha and RGBA decode exactly', async () => {
  const W = 8;
  const H = 8;
  // 1-bit grey: a checkerboard of 0 and 1 -> 0 and 255.
  const bits = Array.from({ length: H }, (_, y) => Buffer.from([y % 2 ? 0b01010101 : 0b10101010]));
  const d1 = await decodeImage(png(W, H, 1, 0, bits), 'bits.png', { channels: 1 });
  assert.deepEqual([...d1.pixels.subarray(0, 8)], [255, 0, 255, 0, 255, 0, 255, 0]);
  assert.deepEqual([...d1.pixels.subarray(8, 16)], [0, 255, 0, 255, 0, 255, 0, 255]);
  // 16-bit grey: v * 257 is v in 8 bits.
  const g16 = Array.from({ length: H }, (_, y) => {
    const r = Buffer.alloc(W * 2);
    for (let x = 0; x < W; x++) r.writeUInt16BE((y * 8 + x) * 3 * 257, x * 2);
    return r;
  });
  const d16 = await decodeImage(png(W, H, 16, 0, g16), 'g16.png', { channels: 1 });
  assert.deepEqual([...d16.pixels], Array.from({ length: 64 }, (_, i) => i * 3));
  // 16-bit RGB.
  const rgb16 = Array.from({ length: H }, (_, y) => {
    const r = Buffer.alloc(W * 6);
    for (let x = 0; x < W; x++) [x * 30, y * 30, 77].forEach((v, c) => r.writeUInt16BE(v * 257, x * 6 + c * 2));
    return r;
  });
  const drgb16 = await decodeImage(png(W, H, 16, 2, rgb16), 'rgb16.png', { channels: 3 });
  assert.deepEqual([...drgb16.pixels.subarray((3 * W + 5) * 3, (3 * W + 5) * 3 + 3)], [150, 90, 77]);
  // Palette (4-bit indices) with a tRNS chunk: the colours come through, transparency is dropped.
  const plte = Buffer.from([10, 20, 30, 200, 100, 50, 0, 255, 0]);
  const idx = Array.from({ length: H }, (_, y) => Buffer.from([0x01, 0x20, 0x12, y % 3]));
  const dpal = await decodeImage(png(W, H, 4, 3, idx, [['PLTE', plte], ['tRNS', Buffer.from([255, 0, 128])]]), 'pal.png', { channels: 3 });
  assert.deepEqual([...dpal.pixels.subarray(0, 12)], [10, 20, 30, 200, 100, 50, 0, 255, 0, 10, 20, 30]);
  // Grey + alpha to grey, RGBA to RGB: alpha dropped, colour values untouched even where transparent.
  const ga = Array.from({ length: H }, () => Buffer.from(Array.from({ length: W }, (_, x) => [x * 20, x * 30]).flat()));
  const dga = await decodeImage(png(W, H, 8, 4, ga), 'ga.png', { channels: 1 });
  assert.deepEqual([...dga.pixels.subarray(0, 8)], [0, 20, 40, 60, 80, 100, 120, 140]);
  const rgba = Array.from({ length: H }, () => Buffer.from(Array.from({ length: W }, (_, x) => [x, 2 * x, 3 * x, x % 2 ? 0 : 255]).flat()));
  const drgba = await decodeImage(png(W, H, 8, 6, rgba), 'rgba.png', { channels: 3 });
  assert.deepEqual([...drgba.pixels.subarray(0, 9)], [0, 0, 0, 1, 2, 3, 2, 4, 6]);
  assert.equal(drgba.format, 'png');
});

test('grey to RGB repeats the grey; neutral RGB to grey keeps the level', async () => {
  const grey = Buffer.from(Array.from({ length: 64 }, (_, i) => i * 4));
  const asRgb = await decodeImage(await raw(grey, 8, 8, 1).png().toBuffer(), 'g.png', { channels: 3 });
  assert.deepEqual([...asRgb.pixels.subarray(15, 18)], [20, 20, 20]);
  const neutral = Buffer.from(Array.from({ length: 64 }, (_, i) => [i * 4, i * 4, i * 4]).flat());
  const asGrey = await decodeImage(await raw(neutral, 8, 8).png().toBuffer(), 'n.png', { channels: 1 });
  assert.equal(asGrey.channels, 1);
  for (let i = 0; i < 64; i++) assert.ok(Math.abs(asGrey.pixels[i] - i * 4) <= 1, `pixel ${i}: ${asGrey.pixels[i]}`);
});

test('WebP, lossless and lossy', async () => {
  const px = card(20, 12);
  const lossless = await decodeImage(await raw(px, 20, 12).webp({ lossless: true }).toBuffer(), 'a.webp', { channels: 3 });
  assert.equal(lossless.format, 'webp');
  assert.deepEqual(lossless.pixels, new Uint8Array(px));
  const lossy = await decodeImage(await raw(px, 20, 12).webp({ quality: 95 }).toBuffer(), 'b.webp', { channels: 3 });
  assert.ok(meanAbsDiff(lossy.pixels, px) < 4);
});

test('letterbox pads around the scaled image; center-crop cuts the overhang; stretch fills', async () => {
  // 16 wide x 8 high, column x holds 10 * x (grey), exact through PNG.
  const px = Buffer.from(Array.from({ length: 8 * 16 }, (_, i) => (i % 16) * 10));
  const file = await raw(px, 16, 8, 1).png().toBuffer();
  const box = await decodeImage(file, 'wide.png', { channels: 1, size: { height: 16, width: 16 }, fit: 'letterbox', padValue: 7 });
  assert.deepEqual(box.geometry.resized, { height: 8, width: 16 });
  assert.deepEqual([box.geometry.offsetX, box.geometry.offsetY], [0, 4]);
  for (const y of [0, 3, 12, 15]) assert.deepEqual([...box.pixels.subarray(y * 16, y * 16 + 16)], new Array(16).fill(7), `row ${y} is padding`);
  for (const y of [4, 11]) assert.deepEqual([...box.pixels.subarray(y * 16, y * 16 + 16)], [...px.subarray(0, 16)], `row ${y} is the image`);
  const crop = await decodeImage(file, 'wide.png', { channels: 1, size: { height: 8, width: 8 }, fit: 'center-crop' });
  assert.deepEqual([crop.geometry.offsetX, crop.geometry.offsetY], [-4, 0]);
  assert.deepEqual([...crop.pixels.subarray(0, 8)], [40, 50, 60, 70, 80, 90, 100, 110]);
  assert.deepEqual([crop.originalHeight, crop.originalWidth], [8, 16]);
  const big = await decodeImage(await raw(card(64, 48), 64, 48).jpeg().toBuffer(), 'big.jpg', { channels: 3, size: { height: 32, width: 32 } });
  assert.deepEqual([big.height, big.width, big.pixels.length, big.originalHeight, big.originalWidth], [32, 32, 32 * 32 * 3, 48, 64]);
});

test('bad files are InputErrors naming the file: empty, not an image, unsupported, truncated, corrupt, too small, missing', async () => {
  const opts = { channels: 3 } as const;
  const jpg = await raw(card(64, 64), 64, 64).jpeg({ quality: 90 }).toBuffer();
  await rejectsInput(decodeImage(Buffer.alloc(0), 'empty.jpg', opts), 'empty.jpg', /empty \(0 bytes\)/);
  await rejectsInput(decodeImage(Buffer.from('just some text, not pixels'), 'notes.txt', opts), 'notes.txt', /not an image/);
  await rejectsInput(decodeImage(await raw(card(16, 16), 16, 16).gif().toBuffer(), 'anim.gif', opts), 'anim.gif', /unsupported image format GIF/);
  await rejectsInput(decodeImage(await raw(card(16, 16), 16, 16).tiff().toBuffer(), 'scan.tif', opts), 'scan.tif', /unsupported image format TIFF/);
  await rejectsInput(decodeImage(jpg.subarray(0, jpg.length >> 1), 'cut.jpg', opts), 'cut.jpg', /not a valid JPEG: .*premature end of JPEG image/);
  const corrupt = Buffer.from(jpg);
  for (let i = 150; i < corrupt.length - 2; i++) corrupt[i] ^= 0x5a;
  await rejectsInput(decodeImage(corrupt, 'garbled.jpg', opts), 'garbled.jpg', /not a valid JPEG/);
  const pngBytes = await raw(card(16, 16), 16, 16).png().toBuffer();
  await rejectsInput(decodeImage(pngBytes.subarray(0, 60), 'cut.png', opts), 'cut.png', /not a valid PNG/);
  await rejectsInput(decodeImage(await raw(card(16, 7), 16, 7).png().toBuffer(), 'thin.png', opts), 'thin.png', /16x7 pixels; images need at least 8/);
  const dir = mkdtempSync(path.join(tmpdir(), 'decode-'));
  await rejectsInput(decodeImageFile(path.join(dir, 'nope.jpg'), opts), path.join(dir, 'nope.jpg'), /cannot read image: ENOENT/);
  writeFileSync(path.join(dir, 'zero.png'), '');
  await rejectsInput(decodeImageFile(path.join(dir, 'zero.png'), opts), path.join(dir, 'zero.png'), /empty/);
});

test('sniffImageFormat knows JPEG, PNG and WebP by their signatures only', async () => {
  assert.equal(sniffImageFormat(await raw(card(8, 8), 8, 8).jpeg().toBuffer()), 'jpeg');
  assert.equal(sniffImageFormat(await raw(card(8, 8), 8, 8).png().toBuffer()), 'png');
  assert.equal(sniffImageFormat(await raw(card(8, 8), 8, 8).webp().toBuffer()), 'webp');
  assert.equal(sniffImageFormat(await raw(card(8, 8), 8, 8).gif().toBuffer()), undefined);
  assert.equal(sniffImageFormat(Buffer.from('RIFF0000WAVE')), undefined);
});

test('a truncated JPEG decoded beside PNGs is still named as truncated (libvips\' one error buffer may be cleared by them)', async () => {
  const jpg = await raw(card(64, 64), 64, 64).jpeg({ quality: 90 }).toBuffer();
  const cut = jpg.subarray(0, jpg.length >> 1);
  const pngs = await raw(card(40, 30), 40, 30).png().toBuffer();
  for (let round = 0; round < 4; round++) {
    const results = await Promise.allSettled([decodeImage(pngs, 'a.png', { channels: 3 }), decodeImage(cut, 'cut.jpg', { channels: 3 }), decodeImage(pngs, 'b.png', { channels: 3 })]);
    assert.equal(results[1].status, 'rejected');
    assert.match(String((results[1] as PromiseRejectedResult).reason.message), /cut\.jpg: not a valid JPEG: .*premature end of JPEG image/);
  }
});
