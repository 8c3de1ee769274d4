// Users' photos (JPEG, PNG, WebP of any size) as a dataset's pixels: decoded by sharp (libvips), turned
// upright by their EXIF orientation, converted to grey or sRGB, and fitted to the dataset's size once.
// Every failure is an InputError naming the file, so an ingest can stop on it or skip it and say why.
import { readFile } from 'node:fs/promises';
import { InputError } from '@selftrain/errors';
import sharp from 'sharp';
import { jpegReachesEnd } from './jpeg-end';
import { fitGeometry, isIdentityGeometry, type FitGeometry, type FitPolicy, type ImageSize } from './image-geometry';

export type ImageFormat = 'jpeg' | 'png' | 'webp';

/** Images smaller than this on either side are refused: nothing a model can learn from survives resizing them up. */
export const MIN_IMAGE_SIDE = 8;

/** The largest image accepted, in pixels (libvips refuses bigger ones before decoding: a decompression bomb guard). */
export const MAX_IMAGE_PIXELS = 16384 * 16384;

export interface DecodeOptions {
  /** 1: grey; 3: sRGB. Alpha is dropped (as torchvision's `convert('RGB')` does), CMYK converted. */
  channels: 1 | 3;
  /** The dataset's size; omitted = the image's own (upright) size. */
  size?: ImageSize;
  /** How the image is fitted to `size` (default `stretch`); see FitPolicy. */
  fit?: FitPolicy;
  /** Letterbox padding value (default 0). */
  padValue?: number;
}

export interface DecodedPhoto {
  /** HWC, uint8. */
  pixels: Uint8Array;
  height: number;
  width: number;
  channels: 1 | 3;
  format: ImageFormat;
  /** The upright image's size before fitting (what the record keeps as its original size). */
  originalHeight: number;
  originalWidth: number;
  /** Where the source pixels went: move boxes and masks with fitBoxes / fitMask. */
  geometry: FitGeometry;
}

/** The format from the file's first bytes; undefined for anything else. */
export function sniffImageFormat(b: Uint8Array): ImageFormat | undefined {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 && b[4] === 0x0d && b[5] === 0x0a && b[6] === 0x1a && b[7] === 0x0a) return 'png';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return 'webp';
  return undefined;
}

/**
 * Decodes one image file's bytes. `where` names the file in errors (InputError(where, ...)): zero bytes,
 * not an image, a format other than JPEG / PNG / WebP, a truncated or corrupt file, a side under
 * MIN_IMAGE_SIDE pixels.
 */
export async function decodeImage(bytes: Uint8Array, where: string, opts: DecodeOptions): Promise<DecodedPhoto> {
  if (bytes.byteLength === 0) throw new InputError(where, 'is empty (0 bytes)');
  const format = sniffImageFormat(bytes);
  if (!format) throw new InputError(where, await notDecodable(bytes));
  if (format === 'jpeg' && !jpegReachesEnd(bytes)) throw new InputError(where, 'not a valid JPEG: premature end of JPEG image (no end-of-image marker after the first scan)');
  const input = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // failOn 'truncated': a cut-off file is an error, while the warnings real-world JPEGs often carry
  // (extraneous bytes before a marker) are not.
  const open = () => sharp(input, { failOn: 'truncated', limitInputPixels: MAX_IMAGE_PIXELS, sequentialRead: true });
  let upright: ImageSize;
  try {
    const meta = await open().metadata();
    if (!meta.width || !meta.height) throw new Error('no image size in the header');
    // EXIF orientations 5-8 swap the sides.
    const swap = (meta.orientation ?? 1) >= 5;
    upright = swap ? { height: meta.width, width: meta.height } : { height: meta.height, width: meta.width };
  } catch (err) {
    throw new InputError(where, `not a valid ${format.toUpperCase()}: ${cleanMessage(err)}`, { cause: err });
  }
  if (upright.height < MIN_IMAGE_SIDE || upright.width < MIN_IMAGE_SIDE) {
    throw new InputError(where, `is ${upright.width}x${upright.height} pixels; images need at least ${MIN_IMAGE_SIDE} on each side`);
  }
  const { channels } = opts;
  const geometry = fitGeometry(upright, opts.size ?? upright, opts.fit ?? 'stretch');
  let pipeline = open().autoOrient().toColourspace(channels === 1 ? 'b-w' : 'srgb').removeAlpha();
  if (!isIdentityGeometry(geometry)) pipeline = fitted(pipeline, geometry, channels, opts.padValue ?? 0);
  let data: Buffer;
  let info: sharp.OutputInfo;
  try {
    ({ data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true }));
  } catch (err) {
    throw new InputError(where, `not a valid ${format.toUpperCase()}: ${failureReason(err)}`, { cause: err });
  }
  const { height, width } = geometry.target;
  if (info.channels !== channels || info.height !== height || info.width !== width) {
    // A guard on this module's own pipeline, not on the input.
    throw new Error(`${where}: decoded to ${info.width}x${info.height}x${info.channels}, expected ${width}x${height}x${channels}`);
  }
  const pixels = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return { pixels, height, width, channels, format, originalHeight: upright.height, originalWidth: upright.width, geometry };
}

/** decodeImage on a file; a file that cannot be read is InputError(path, ...) too. */
export async function decodeImageFile(path: string, opts: DecodeOptions): Promise<DecodedPhoto> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new InputError(path, `cannot read image: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  return decodeImage(bytes, path, opts);
}

/** Resize (and pad or crop) in libvips, with the geometry this module computed, so boxes and masks match. */
function fitted(p: sharp.Sharp, g: FitGeometry, channels: 1 | 3, padValue: number): sharp.Sharp {
  let out = p.resize(g.resized.width, g.resized.height, { fit: 'fill' });
  if (g.offsetX > 0 || g.offsetY > 0 || g.resized.width < g.target.width || g.resized.height < g.target.height) {
    const v = padValue;
    out = out.extend({
      left: g.offsetX,
      top: g.offsetY,
      right: g.target.width - g.resized.width - g.offsetX,
      bottom: g.target.height - g.resized.height - g.offsetY,
      background: channels === 1 ? { r: v, g: v, b: v } : { r: v, g: v, b: v, alpha: 1 },
    });
  }
  if (g.resized.width > g.target.width || g.resized.height > g.target.height) {
    // Called after resize, sharp crops the resized image (before resize it would crop the source).
    out = out.extract({ left: -g.offsetX, top: -g.offsetY, width: g.target.width, height: g.target.height });
  }
  return out;
}

/** Why bytes that are not JPEG / PNG / WebP are refused: another image format libvips knows, or not an image. */
async function notDecodable(bytes: Uint8Array): Promise<string> {
  let format: string | undefined;
  try {
    format = (await sharp(bytes, { failOn: 'none' }).metadata()).format;
  } catch {
    format = undefined;
  }
  return format ? `unsupported image format ${format.toUpperCase()} (supported: JPEG, PNG, WebP)` : 'not an image (no JPEG, PNG or WebP signature)';
}

/**
 * Why decoding failed. libvips keeps one error buffer per process, and a PNG decode running at the same
 * time may clear it, so sharp sometimes reports "Unknown error" for a corrupt file (seen with a batch of
 * PNGs and one cut JPEG in flight, before truncated JPEGs were caught by jpegReachesEnd).
 */
function failureReason(err: unknown): string {
  const message = cleanMessage(err);
  return /^unknown error$/i.test(message) ? 'corrupt or truncated image data' : message;
}

/** sharp's messages repeat libvips' last line and carry its domain prefix; one clean line reads better. */
function cleanMessage(err: unknown): string {
  const lines = String((err as Error)?.message ?? err)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return [...new Set(lines)].join('; ');
}

function ascii(b: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...b.subarray(from, to));
}
