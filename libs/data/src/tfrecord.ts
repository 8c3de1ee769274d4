// TFRecord framing: per record, uint64 LE length, masked CRC32C of those 8 bytes, the data, and
// the masked CRC32C of the data. Readers elsewhere (tf.data) accept exactly this layout.
import { CorruptDataError } from '@selftrain/errors';
import { maskedCrc32c } from './crc32c';

const HEADER = 12;
const FOOTER = 4;

export function encodeTFRecords(records: Uint8Array[]): Buffer {
  let total = 0;
  for (const r of records) total += HEADER + r.length + FOOTER;
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const r of records) {
    out.writeUInt32LE(r.length >>> 0, pos);
    out.writeUInt32LE(Math.floor(r.length / 2 ** 32), pos + 4);
    out.writeUInt32LE(maskedCrc32c(out.subarray(pos, pos + 8)), pos + 8);
    out.set(r, pos + HEADER);
    out.writeUInt32LE(maskedCrc32c(r), pos + HEADER + r.length);
    pos += HEADER + r.length + FOOTER;
  }
  return out;
}

export interface TFRecordEntry {
  /** Byte offset of the record's header within the buffer: what errors name. */
  offset: number;
  /** A view into the input buffer (no copy). */
  data: Uint8Array;
}

/**
 * Yields each record with its offset after checking both CRCs. A bad or truncated record throws
 * CorruptDataError at its offset; callers that must not act on a partial shard collect first
 * (readShard does).
 */
export function* iterateTFRecords(buf: Uint8Array, objectName: string): Generator<TFRecordEntry> {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = buf.length;
  let pos = 0;
  while (pos < n) {
    if (n - pos < HEADER) {
      throw new CorruptDataError(objectName, pos, `truncated record header: ${n - pos} of ${HEADER} bytes`);
    }
    // Check the length's CRC before trusting the length, so a flipped length bit reads as corruption.
    if (maskedCrc32c(buf.subarray(pos, pos + 8)) !== view.getUint32(pos + 8, true)) {
      throw new CorruptDataError(objectName, pos, 'length CRC mismatch');
    }
    const len = view.getUint32(pos + 4, true) * 2 ** 32 + view.getUint32(pos, true);
    const left = n - pos - HEADER;
    if (len + FOOTER > left) {
      throw new CorruptDataError(
        objectName,
        pos,
        `truncated record: ${len} data bytes + ${FOOTER} CRC bytes declared, ${left} left`,
      );
    }
    const start = pos + HEADER;
    const data = buf.subarray(start, start + len);
    if (maskedCrc32c(data) !== view.getUint32(start + len, true)) {
      throw new CorruptDataError(objectName, pos, 'data CRC mismatch');
    }
    yield { offset: pos, data };
    pos = start + len + FOOTER;
  }
}

/** The records' bytes, in order; same checks and errors as iterateTFRecords. */
export function* decodeTFRecords(buf: Uint8Array, objectName: string): Generator<Uint8Array> {
  for (const r of iterateTFRecords(buf, objectName)) yield r.data;
}
