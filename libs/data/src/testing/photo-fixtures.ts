// Real photo files for tests, made with sharp at test time: a flat grey photo with solid rectangles
// (so a box or mask can be checked against the pixels after resizing), stored as JPEG, PNG or WebP,
// optionally on its side with an EXIF orientation, or as a CMYK JPEG.
import { writeFileSync } from 'node:fs';
import sharp from 'sharp';

export interface PaintedRect {
  /** Pixel edges in the upright image: columns x0..x1-1, rows y0..y1-1. */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  rgb: [number, number, number];
}

export interface PhotoSpec {
  /** The upright size (as a viewer shows it). */
  width: number;
  height: number;
  rects?: PaintedRect[];
  format?: 'jpeg' | 'png' | 'webp';
  /** Stored on its side (90 degrees counter-clockwise) with EXIF orientation 6, which turns it upright. */
  sideways?: boolean;
  /** A CMYK JPEG. */
  cmyk?: boolean;
  /** The background grey (default 128). */
  background?: number;
}

/** The upright pixels (HWC RGB) of a spec. */
export function paint(spec: PhotoSpec): Buffer {
  const { width, height } = spec;
  const px = Buffer.alloc(width * height * 3, spec.background ?? 128);
  for (const r of spec.rects ?? []) {
    for (let y = r.y0; y < r.y1; y++) for (let x = r.x0; x < r.x1; x++) px.set(r.rgb, (y * width + x) * 3);
  }
  return px;
}

export async function photoBytes(spec: PhotoSpec): Promise<Buffer> {
  let img = sharp(paint(spec), { raw: { width: spec.width, height: spec.height, channels: 3 } });
  // Stored turned 90 degrees counter-clockwise; orientation 6 says "turn 90 clockwise to show".
  if (spec.sideways) img = sharp(await img.rotate(270).png().toBuffer());
  if (spec.cmyk) img = img.toColourspace('cmyk');
  const format = spec.format ?? 'jpeg';
  img = format === 'jpeg' ? img.jpeg({ quality: 95, chromaSubsampling: '4:4:4' }) : format === 'png' ? img.png() : img.webp({ lossless: true });
  if (spec.sideways) img = img.withMetadata({ orientation: 6 });
  return img.toBuffer();
}

export async function writePhoto(path: string, spec: PhotoSpec): Promise<void> {
  writeFileSync(path, await photoBytes(spec));
}
