// A shard is one TFRecord object of image Examples. Readers hold one shard in memory at a time.
import { createHash } from 'node:crypto';
import { CorruptDataError } from '@selftrain/errors';
import type { DatasetManifest, Shard } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';
import { decodeImageExample, encodeImageExample, type ImageRecord } from './image-example';
import { splitOf } from './manifest';
import { encodeTFRecords, iterateTFRecords } from './tfrecord';

export function writeShard(records: ImageRecord[]): Buffer {
  return encodeTFRecords(records.map(encodeImageExample));
}

/** All records or a CorruptDataError naming the object and the bad record's byte offset. */
export function readShard(buf: Uint8Array, objectName: string): ImageRecord[] {
  const out: ImageRecord[] = [];
  for (const { offset, data } of iterateTFRecords(buf, objectName)) {
    out.push(decodeImageExample(data, objectName, offset));
  }
  return out;
}

export interface StreamShardsOptions {
  /** Check each shard's sha256 against the manifest before decoding (default false). */
  verifySha256?: boolean;
}

/**
 * Records of the given shards in order, fetching the next shard only when the previous one is
 * used up. A shard is decoded whole before its first record is yielded, so a corrupt shard
 * yields nothing.
 */
export async function* streamShards(
  store: ObjectStore,
  shards: Shard[],
  opts: StreamShardsOptions = {},
): AsyncGenerator<ImageRecord> {
  for (const shard of shards) {
    let buf: Buffer | undefined = await store.get(shard.key);
    if (opts.verifySha256) {
      const sha = createHash('sha256').update(buf).digest('hex');
      if (sha !== shard.sha256) {
        throw new CorruptDataError(shard.key, 0, `sha256 ${sha} does not match the manifest's ${shard.sha256}`);
      }
    }
    const records = readShard(buf, shard.key);
    if (records.length !== shard.records) {
      throw new CorruptDataError(shard.key, buf.length, `${records.length} records, the manifest says ${shard.records}`);
    }
    buf = undefined; // the decoded records are all we keep of this shard
    yield* records;
  }
}

/** A whole split in memory, sha256-checked; meant for small splits (labeled, val). */
export async function readSplit(store: ObjectStore, manifest: DatasetManifest, splitName: string): Promise<ImageRecord[]> {
  const out: ImageRecord[] = [];
  for await (const r of streamShards(store, splitOf(manifest, splitName).shards, { verifySha256: true })) out.push(r);
  return out;
}
