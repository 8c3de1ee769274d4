// Class masks as PNG: one byte per pixel holding the class id (255 = ignore, as in VOC).
// Users' VOC masks are palette PNGs (colour type 3) whose palette *index* is the class; pngjs only
// hands back RGBA through the palette, so the index is recovered by inverting the PLTE chunk.
// pngjs cannot write colour type 3 either, so palette PNGs are written as 8-bit grayscale (the same
// one-byte-per-pixel scanlines) and re-labelled: IHDR colour type 3 plus a PLTE chunk.
import { crc32 } from 'node:zlib';
import { PNG } from 'pngjs';
import { IGNORE_LABEL } from '@selftrain/metrics';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export class MaskPngError extends Error {}

interface Chunk {
  type: string;
  data: Buffer;
}

function readChunks(png: Buffer): Chunk[] {
  if (png.length < 8 || !png.subarray(0, 8).equals(SIGNATURE)) throw new MaskPngError('not a PNG (bad signature)');
  const chunks: Chunk[] = [];
  for (let at = 8; at + 12 <= png.length; ) {
    const len = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    if (at + 12 + len > png.length) throw new MaskPngError(`truncated ${type} chunk`);
    chunks.push({ type, data: png.subarray(at + 8, at + 8 + len) });
    at += 12 + len;
    if (type === 'IEND') break;
  }
  if (chunks[0]?.type !== 'IHDR') throw new MaskPngError('no IHDR chunk');
  return chunks;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** 8-bit grayscale PNG of the mask (what records store). */
export function encodeMaskPng(mask: Uint8Array, height: number, width: number): Buffer {
  return PNG.sync.write({ width, height, data: asBuffer(mask) } as PNG, { colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
}

/**
 * Class ids of a grayscale or palette PNG (the palette index; on duplicate palette colours the first
 * index wins). RGB(A) and 16-bit PNGs are refused: their pixel values are not class ids.
 */
export function decodeMaskPng(png: Uint8Array): { mask: Uint8Array; height: number; width: number } {
  const buf = asBuffer(png);
  const chunks = readChunks(buf);
  const ihdr = chunks[0].data;
  const bitDepth = ihdr[8];
  const colorType = ihdr[9];
  if (colorType !== 0 && colorType !== 3) {
    throw new MaskPngError(`PNG colour type ${colorType} is not a class mask (need grayscale or palette)`);
  }
  if (bitDepth > 8) throw new MaskPngError(`${bitDepth}-bit PNG is not a class mask (need at most 8 bits)`);
  let decoded: PNG;
  try {
    decoded = PNG.sync.read(buf);
  } catch (err) {
    throw new MaskPngError(`bad PNG: ${(err as Error).message}`);
  }
  const { width, height, data } = decoded;
  const mask = new Uint8Array(width * height);
  if (colorType === 0) {
    // pngjs rescales low bit depths to 0..255; undo it so a 4-bit mask keeps its ids.
    const scale = 255 / (2 ** bitDepth - 1);
    for (let i = 0; i < mask.length; i++) mask[i] = Math.round(data[i * 4] / scale);
    return { mask, height, width };
  }
  const plte = chunks.find((c) => c.type === 'PLTE');
  if (!plte) throw new MaskPngError('palette PNG without a PLTE chunk');
  const indexOf = new Map<number, number>();
  for (let i = plte.data.length / 3 - 1; i >= 0; i--) {
    indexOf.set((plte.data[i * 3] << 16) | (plte.data[i * 3 + 1] << 8) | plte.data[i * 3 + 2], i);
  }
  for (let i = 0; i < mask.length; i++) {
    const idx = indexOf.get((data[i * 4] << 16) | (data[i * 4 + 1] << 8) | data[i * 4 + 2]);
    if (idx === undefined) throw new MaskPngError(`pixel ${i} has a colour outside the palette`);
    mask[i] = idx;
  }
  return { mask, height, width };
}

/** The PASCAL VOC colour map: class c's colour spreads c's bits over R, G, B; 255 (ignore) is cream. */
export function vocPalette(): Uint8Array {
  const pal = new Uint8Array(256 * 3);
  for (let c = 0; c < 256; c++) {
    let r = 0, g = 0, b = 0;
    for (let j = 0, id = c; j < 8; j++, id >>= 3) {
      r |= ((id >> 0) & 1) << (7 - j);
      g |= ((id >> 1) & 1) << (7 - j);
      b |= ((id >> 2) & 1) << (7 - j);
    }
    pal.set([r, g, b], c * 3);
  }
  return pal;
}

/** Palette PNG (colour type 3, PLTE chunk) whose pixel indices are the mask's class ids: viewers show colours, readers get ids. */
export function encodePaletteMaskPng(mask: Uint8Array, height: number, width: number, palette: Uint8Array = vocPalette()): Buffer {
  if (palette.length % 3 !== 0 || palette.length === 0 || palette.length > 768) throw new MaskPngError('palette must hold 1..256 RGB triples');
  const entries = palette.length / 3;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] >= entries) throw new MaskPngError(`mask value ${mask[i]} at pixel ${i} has no palette entry (${entries} entries)`);
  }
  const chunks = readChunks(encodeMaskPng(mask, height, width));
  const ihdr = Buffer.from(chunks[0].data);
  ihdr[9] = 3;
  const out = [SIGNATURE, chunk('IHDR', ihdr), chunk('PLTE', Buffer.from(palette))];
  for (const c of chunks.slice(1)) out.push(chunk(c.type, c.data));
  return Buffer.concat(out);
}
