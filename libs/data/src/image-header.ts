// An image's upright size and whether it is grey, read from its header bytes alone. Ingest reads every
// file once before decoding (to key the dataset by content); this lets that pass choose the dataset's size
// and channels and refuse tiny images before anything is written, without a decode per file.
import { sniffImageFormat, type ImageFormat } from './image-decode';

export interface ImageHeader {
  format: ImageFormat;
  /** Upright (EXIF orientation applied, as decoding does). */
  height: number;
  width: number;
  /** True when the file stores one grey band (JPEG with one component, PNG grey or grey + alpha). */
  grey: boolean;
}

/** The header of a JPEG, PNG or WebP; undefined when the bytes are not one or the header is cut off (decoding then says why). */
export function readImageHeader(b: Uint8Array): ImageHeader | undefined {
  const format = sniffImageFormat(b);
  if (format === 'png') return pngHeader(b);
  if (format === 'jpeg') return jpegHeader(b);
  if (format === 'webp') return webpHeader(b);
  return undefined;
}

function pngHeader(b: Uint8Array): ImageHeader | undefined {
  // The signature, then IHDR: length, type, width, height, bit depth, colour type.
  if (b.length < 26) return undefined;
  const v = view(b);
  const colorType = b[25];
  return { format: 'png', width: v.getUint32(16), height: v.getUint32(20), grey: colorType === 0 || colorType === 4 };
}

function webpHeader(b: Uint8Array): ImageHeader | undefined {
  if (b.length < 30) return undefined;
  const v = view(b);
  const chunk = String.fromCharCode(b[12], b[13], b[14], b[15]);
  // WebP keeps colour (YUV or ARGB) even for grey pictures; libvips decodes it to sRGB.
  if (chunk === 'VP8 ') return { format: 'webp', width: v.getUint16(26, true) & 0x3fff, height: v.getUint16(28, true) & 0x3fff, grey: false };
  if (chunk === 'VP8L') {
    const bits = v.getUint32(21, true);
    return { format: 'webp', width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1, grey: false };
  }
  if (chunk === 'VP8X') {
    const u24 = (at: number) => b[at] | (b[at + 1] << 8) | (b[at + 2] << 16);
    return { format: 'webp', width: u24(24) + 1, height: u24(27) + 1, grey: false };
  }
  return undefined;
}

/** Start-of-frame markers (baseline, extended, progressive, lossless; Huffman or arithmetic), not DHT/JPG/DAC. */
const SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

function jpegHeader(b: Uint8Array): ImageHeader | undefined {
  const v = view(b);
  let orientation = 1;
  let at = 2;
  while (at + 4 <= b.length) {
    if (b[at] !== 0xff) return undefined;
    const marker = b[at + 1];
    // Fill bytes and markers without a length.
    if (marker === 0xff) { at++; continue; }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { at += 2; continue; }
    const len = v.getUint16(at + 2);
    if (marker === 0xe1 && len >= 8) orientation = exifOrientation(b, at + 4, at + 2 + len) ?? orientation;
    if (SOF.has(marker)) {
      if (at + 10 > b.length) return undefined;
      const height = v.getUint16(at + 5);
      const width = v.getUint16(at + 7);
      const swap = orientation >= 5 && orientation <= 8;
      return { format: 'jpeg', height: swap ? width : height, width: swap ? height : width, grey: b[at + 9] === 1 };
    }
    if (marker === 0xda) return undefined; // scan data before any frame header
    at += 2 + len;
  }
  return undefined;
}

/** The orientation tag (0x0112) of an APP1 Exif segment's first IFD, or undefined. */
function exifOrientation(b: Uint8Array, from: number, end: number): number | undefined {
  if (end > b.length || String.fromCharCode(...b.subarray(from, from + 4)) !== 'Exif') return undefined;
  const tiff = from + 6;
  if (tiff + 8 > end) return undefined;
  const little = b[tiff] === 0x49; // "II"; "MM" is big-endian
  const v = view(b);
  const u16 = (at: number) => v.getUint16(at, little);
  const ifd = tiff + v.getUint32(tiff + 4, little);
  if (ifd + 2 > end) return undefined;
  const n = u16(ifd);
  for (let i = 0; i < n; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > end) return undefined;
    if (u16(entry) === 0x0112) return u16(entry + 8);
  }
  return undefined;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}
