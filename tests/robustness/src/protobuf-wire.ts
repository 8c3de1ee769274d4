// Hand-made protobuf wire bytes, for what ts-proto's encoders refuse to write: wrong wire types,
// out-of-range varints, truncated fields, invalid UTF-8, unterminated groups.
import type { FieldSpec, MessageSpec, WireObject, WireValue } from './request-schemas';

export enum WireType { Varint = 0, Fixed64 = 1, Bytes = 2, StartGroup = 3, EndGroup = 4, Fixed32 = 5 }

export function varint(value: bigint | number): Buffer {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return Buffer.from(out);
}

/** A tag with any wire type, including the invalid 6 and 7. */
export function tag(field: number, wireType: number): Buffer {
  return varint((BigInt(field) << 3n) | BigInt(wireType & 7));
}

export function varintField(field: number, value: bigint | number): Buffer {
  return Buffer.concat([tag(field, WireType.Varint), varint(value)]);
}

export function bytesField(field: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return Buffer.concat([tag(field, WireType.Bytes), varint(body.length), body]);
}

export function doubleField(field: number, value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(value);
  return Buffer.concat([tag(field, WireType.Fixed64), b]);
}

export function fixed32Field(field: number, value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0);
  return Buffer.concat([tag(field, WireType.Fixed32), b]);
}

function scalar(f: FieldSpec, v: WireValue): Buffer {
  // A Buffer is a length-delimited payload as is (invalid UTF-8, junk sub-messages).
  if (Buffer.isBuffer(v)) return bytesField(f.no, v);
  if (typeof f.kind === 'object') return bytesField(f.no, encodeMessage(f.kind, v as WireObject));
  switch (f.kind) {
    case 'id': case 'key': case 'string': return bytesField(f.no, String(v));
    case 'double': return doubleField(f.no, Number(v));
    case 'bool': return varintField(f.no, typeof v === 'boolean' ? (v ? 1 : 0) : BigInt(v as number | bigint));
    default: {
      // int32 and enums are sign-extended to 64 bits on the wire; out-of-range values go out as given.
      const n = typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v)));
      return varintField(f.no, n);
    }
  }
}

/** Encodes `value` field by field as the schema says; unknown names are an error in the test itself. */
export function encodeMessage(spec: MessageSpec, value: WireObject): Buffer {
  const parts: Buffer[] = [];
  for (const [name, v] of Object.entries(value)) {
    if (v === undefined) continue;
    const f = spec.fields.find((x) => x.name === name);
    if (!f) throw new Error(`${spec.name} has no field ${name}`);
    for (const item of f.repeated && Array.isArray(v) ? v : [v]) parts.push(scalar(f, item));
  }
  return Buffer.concat(parts);
}
