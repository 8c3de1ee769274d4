// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord framing requires.
// Slicing-by-8: eight 256-entry tables let the loop consume 8 bytes per step, which is several
// times faster than the byte-at-a-time loop on the ~1 KB records our shards hold.

const POLY = 0x82f63b78;
const TABLES = buildTables();

function buildTables(): Uint32Array {
  const t = new Uint32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[i] = c;
  }
  for (let i = 0; i < 256; i++) {
    let c = t[i];
    for (let s = 1; s < 8; s++) {
      c = (c >>> 8) ^ t[c & 0xff];
      t[s * 256 + i] = c;
    }
  }
  return t;
}

/** CRC32C of `data`; pass a previous result as `crc` to extend it over more bytes. */
export function crc32c(data: Uint8Array, crc = 0): number {
  const t = TABLES;
  let c = ~crc;
  let i = 0;
  const n = data.length;
  const end8 = n - (n % 8);
  while (i < end8) {
    c ^= data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    c =
      t[1792 + (c & 0xff)] ^
      t[1536 + ((c >>> 8) & 0xff)] ^
      t[1280 + ((c >>> 16) & 0xff)] ^
      t[1024 + (c >>> 24)] ^
      t[768 + data[i + 4]] ^
      t[512 + data[i + 5]] ^
      t[256 + data[i + 6]] ^
      t[data[i + 7]];
    i += 8;
  }
  while (i < n) c = (c >>> 8) ^ t[(c ^ data[i++]) & 0xff];
  return ~c >>> 0;
}

/** TFRecord's masked CRC: rotating and offsetting keeps a CRC of data that embeds CRCs well-behaved. */
export function maskCrc(crc: number): number {
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

export function maskedCrc32c(data: Uint8Array): number {
  return maskCrc(crc32c(data));
}
