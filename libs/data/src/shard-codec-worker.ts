// The worker thread behind WorkerShardCodec: readShard and writeShard, one request at a time.
import { parentPort } from 'node:worker_threads';
import { codecErrorOf, type CodecReply, type CodecRequest } from './shard-codec';
import type { ImageRecord } from './image-example';
import { readShard, writeShard } from './shard';

parentPort!.on('message', (req: CodecRequest) => {
  let reply: CodecReply;
  try {
    if (req.op === 'read') {
      // Structured clone hands a Buffer over as a plain Uint8Array.
      const bytes = Buffer.from(req.bytes.buffer, req.bytes.byteOffset, req.bytes.byteLength);
      const records = readShard(bytes, req.objectName);
      const buffers = packPixels(records);
      parentPort!.postMessage({ id: req.id, records } satisfies CodecReply, buffers);
      return;
    }
    reply = { id: req.id, bytes: writeShard(req.records) };
  } catch (err) {
    reply = { id: req.id, error: codecErrorOf(err as Error) };
  }
  parentPort!.postMessage(reply);
});

/**
 * Moves every record's pixels and PNG bytes into two buffers (the records keep views of them) and returns
 * those buffers to transfer: two moves instead of two copies per record, and two objects for the main
 * thread's GC to track instead of thousands.
 */
function packPixels(records: ImageRecord[]): ArrayBuffer[] {
  const pack = (field: 'image' | 'encoded') => {
    let total = 0;
    for (const r of records) total += r[field]?.byteLength ?? 0;
    const all = new Uint8Array(total);
    let at = 0;
    for (const r of records) {
      const v = r[field];
      if (!v) continue;
      all.set(v, at);
      r[field] = all.subarray(at, at + v.byteLength);
      at += v.byteLength;
    }
    return all.buffer;
  };
  return [pack('image'), pack('encoded')];
}
