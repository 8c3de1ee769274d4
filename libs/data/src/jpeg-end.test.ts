import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '@selftrain/errors';
import sharp from 'sharp';
import { decodeImage } from './image-decode';
import { jpegReachesEnd } from './jpeg-end';

/** A 48 x 40 photo-like JPEG: ramps and noise, so the scan data is long enough to cut anywhere. */
async function jpeg(opts: sharp.JpegOptions = {}): Promise<Buffer> {
  const [w, h] = [48, 40];
  const px = Buffer.alloc(w * h * 3);
  let seed = 7;
  for (let i = 0; i < px.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    px[i] = ((i % (w * 3)) * 2 + (seed >>> 27)) & 0xff;
  }
  return sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90, ...opts }).toBuffer();
}

/** The same JPEG with an APP1 segment right after SOI holding a fake thumbnail's SOI, SOS and EOI. */
function withThumbnailSegment(jpg: Buffer): Buffer {
  const thumb = Buffer.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x02, 0x11, 0x22, 0xff, 0xd9]);
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), thumb]);
  const header = Buffer.from([0xff, 0xe1, (body.length + 2) >> 8, (body.length + 2) & 0xff]);
  return Buffer.concat([jpg.subarray(0, 2), header, body, jpg.subarray(2)]);
}

const cutsOf = (b: Buffer) => Array.from({ length: b.length - 2 }, (_, i) => b.subarray(0, i + 2));

test('a whole JPEG reaches its end; cut anywhere, baseline or progressive, it does not', async () => {
  for (const jpg of [await jpeg(), await jpeg({ progressive: true })]) {
    assert.equal(jpegReachesEnd(jpg), true);
    const reaching = cutsOf(jpg).filter(jpegReachesEnd).map((c) => c.length);
    assert.deepEqual(reaching, [], 'every cut before the last byte is caught');
  }
});

test("an EXIF thumbnail's own end marker does not hide a cut in the main image", async () => {
  const jpg = withThumbnailSegment(await jpeg());
  assert.equal(jpegReachesEnd(jpg), true);
  assert.equal((await sharp(jpg).metadata()).width, 48, 'libvips reads the edited file as the same image');
  assert.equal(jpegReachesEnd(jpg.subarray(0, jpg.length >> 1)), false);
  assert.equal(jpegReachesEnd(jpg.subarray(0, 20)), false, 'cut inside the thumbnail segment');
});

test('bytes after the end and stray bytes before a marker pass, as libjpeg lets them', async () => {
  const jpg = await jpeg();
  const trailer = Buffer.concat([jpg, Buffer.from([0x00, 0xff, 0xda, 0x01, 0x02, 0x03])]);
  assert.equal(jpegReachesEnd(trailer), true);
  // Stray bytes between SOI's first segment and the next marker: libjpeg warns and skips them.
  const app0End = 4 + jpg.readUInt16BE(4);
  const stray = Buffer.concat([jpg.subarray(0, app0End), Buffer.from([0x12, 0x34]), jpg.subarray(app0End)]);
  assert.equal(jpegReachesEnd(stray), true);
  for (const ok of [trailer, stray]) assert.equal((await decodeImage(ok, 'ok.jpg', { channels: 3 })).width, 48);
});

test('decodeImage refuses every cut JPEG as truncated, naming the file, without asking libvips', async () => {
  const jpg = await jpeg();
  // From 3 bytes on: shorter, the file has no JPEG signature and is refused as not an image.
  for (const cut of cutsOf(jpg).filter((c, i) => c.length >= 3 && i % 7 === 0)) {
    await assert.rejects(decodeImage(cut, 'cut.jpg', { channels: 3, size: { height: 28, width: 28 } }), (err: unknown) => {
      assert.ok(err instanceof InputError);
      assert.equal(err.field, 'cut.jpg');
      assert.match(err.message, /not a valid JPEG: premature end of JPEG image/);
      return true;
    });
  }
});
