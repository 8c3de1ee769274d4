// Users' image files as records' pixels. PNG only (pngjs); a JPEG is recognised by its magic and
// refused with a message saying so, rather than failing somewhere inside the PNG decoder.
import { readFileSync } from 'node:fs';
import { InputError } from '@selftrain/errors';
import { PNG } from 'pngjs';

export interface DecodedImage {
  image: Uint8Array;
  height: number;
  width: number;
  /** 1 for grayscale PNGs, else 3 (alpha is dropped: records hold what a model sees). */
  channels: 1 | 3;
}

export function isJpeg(buf: Uint8Array): boolean {
  return buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff;
}

/** InputError(path, ...) when missing, a JPEG, or not a valid PNG. */
export function readPngImage(path: string): DecodedImage {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new InputError(path, `cannot read image: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (isJpeg(buf)) throw new InputError(path, 'is a JPEG; only PNG images are supported (convert with e.g. `mogrify -format png`)');
  let png: PNG;
  try {
    png = PNG.sync.read(buf);
  } catch (err) {
    throw new InputError(path, `not a valid PNG: ${(err as Error).message}`);
  }
  const colorType = buf[25]; // IHDR: signature (8) + length (4) + type (4) + width, height (8) + bit depth (1)
  const channels = colorType === 0 || colorType === 4 ? 1 : 3;
  const n = png.width * png.height;
  const image = new Uint8Array(n * channels);
  for (let i = 0; i < n; i++) for (let c = 0; c < channels; c++) image[i * channels + c] = png.data[i * 4 + c];
  return { image, height: png.height, width: png.width, channels };
}
