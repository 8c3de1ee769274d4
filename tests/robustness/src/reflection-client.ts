// The two questions grpcurl asks a server's reflection before any call: which services are there
// (`grpcurl list`), and which file defines a symbol (before `grpcurl ... Service/Method`). Spoken on the
// wire with hand-made protobuf, as the test package has no reflection client.
import { Client, credentials, Metadata, type ClientDuplexStream } from '@grpc/grpc-js';
import { bytesField } from './protobuf-wire';

export const REFLECTION_PATHS = [
  '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
  '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo',
];

/** Length-delimited fields of a message, by field number (every other wire type skipped). */
function bytesFields(buf: Buffer): Map<number, Buffer[]> {
  const out = new Map<number, Buffer[]>();
  let i = 0;
  const varint = (): number => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = buf[i++];
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
  };
  while (i < buf.length) {
    const key = varint();
    const [field, wire] = [Math.floor(key / 8), key % 8];
    if (wire === 0) varint();
    else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else if (wire === 2) {
      const len = varint();
      out.set(field, [...(out.get(field) ?? []), buf.subarray(i, i + len)]);
      i += len;
    } else throw new Error(`wire type ${wire} in a reflection response`);
  }
  return out;
}

const identity = (b: Buffer): Buffer => b;

/** One request on a fresh reflection stream; the response's fields. */
async function ask(address: string, path: string, request: Buffer): Promise<Map<number, Buffer[]>> {
  const client = new Client(address, credentials.createInsecure());
  try {
    const call: ClientDuplexStream<Buffer, Buffer> = client.makeBidiStreamRequest(path, identity, identity, new Metadata(), { deadline: Date.now() + 10_000 });
    const response = new Promise<Buffer>((resolve, reject) => {
      call.once('data', resolve);
      call.once('error', reject);
    });
    call.write(request);
    call.end();
    return bytesFields(await response);
  } finally {
    client.close();
  }
}

/** ServerReflectionRequest.list_services (field 7); ListServiceResponse (6) -> ServiceResponse (1) -> name (1). */
export async function listServices(address: string, path: string): Promise<string[]> {
  const res = await ask(address, path, bytesField(7, ''));
  const list = res.get(6)?.[0];
  if (!list) throw new Error(`no list_services_response from ${path}`);
  return (bytesFields(list).get(1) ?? []).map((s) => bytesFields(s).get(1)?.[0]?.toString('utf8') ?? '').sort();
}

/** ServerReflectionRequest.file_containing_symbol (field 4): true when a file_descriptor_response (4) comes back. */
export async function resolvesSymbol(address: string, path: string, symbol: string): Promise<boolean> {
  const res = await ask(address, path, bytesField(4, symbol));
  return (res.get(4)?.length ?? 0) > 0 && !res.has(7);
}
