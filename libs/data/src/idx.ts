// IDX files (the MNIST family's format): big-endian header, then raw uint8 values.
// Accepts them gzipped (as distributed) or not, telling them apart by the gzip magic 0x1f8b.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { CorruptDataError, InputError } from '@selftrain/errors';

const UBYTE_IMAGES = 0x00000803; // type 0x08 (unsigned byte), 3 dimensions
const UBYTE_LABELS = 0x00000801; // type 0x08, 1 dimension

export interface IdxImages {
  count: number;
  height: number;
  width: number;
  /** count * height * width bytes, row-major. */
  data: Uint8Array;
}

function readMaybeGzipped(path: string): Buffer {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(path, code === 'ENOENT' ? 'file not found' : `cannot read: ${(err as Error).message}`, { cause: err });
  }
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return gunzipSync(raw);
    } catch (err) {
      throw new CorruptDataError(path, 0, `bad gzip data: ${(err as Error).message}`);
    }
  }
  return raw;
}

function header(buf: Buffer, path: string, magic: number, dims: number): number[] {
  const size = 4 + 4 * dims;
  if (buf.length < size) throw new CorruptDataError(path, 0, `${buf.length} bytes, shorter than the ${size}-byte IDX header`);
  const got = buf.readUInt32BE(0);
  if (got !== magic) {
    throw new CorruptDataError(path, 0, `IDX magic 0x${got.toString(16).padStart(8, '0')}, expected 0x${magic.toString(16).padStart(8, '0')}`);
  }
  const shape: number[] = [];
  for (let i = 0; i < dims; i++) shape.push(buf.readUInt32BE(4 + 4 * i));
  const expected = shape.reduce((a, b) => a * b, 1);
  if (buf.length - size !== expected) {
    throw new CorruptDataError(path, size, `shape ${shape.join('x')} needs ${expected} data bytes, file has ${buf.length - size}`);
  }
  return shape;
}

// A plain Uint8Array over the file's bytes (no copy), not a Buffer: callers get one type.
function view(buf: Buffer, start: number): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset + start, buf.length - start);
}

export function readIdxImages(path: string): IdxImages {
  const buf = readMaybeGzipped(path);
  const [count, height, width] = header(buf, path, UBYTE_IMAGES, 3);
  return { count, height, width, data: view(buf, 16) };
}

export function readIdxLabels(path: string): Uint8Array {
  const buf = readMaybeGzipped(path);
  header(buf, path, UBYTE_LABELS, 1);
  return view(buf, 8);
}
