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

/**
 * The sha256 of a shard's bytes, or a CorruptDataError naming the shard when it is not the one its
 * manifest lists: what every reader of a shard checks before it trusts the bytes (the evaluator, the
 * student and the labeler all come through here).
 */
export function verifyShardBytes(bytes: Uint8Array, shard: Shard): string {
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== shard.sha256) {
    throw new CorruptDataError(shard.key, 0, `sha256 ${sha} does not match the manifest's ${shard.sha256}`);
  }
  return sha;
}

/** A CorruptDataError naming the shard when it decoded to another record count than its manifest lists. */
export function verifyShardRecordCount(records: number, shard: Shard, sizeBytes: number): void {
  if (records !== shard.records) {
    throw new CorruptDataError(shard.key, sizeBytes, `${records} records, the manifest says ${shard.records}`);
  }
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
    if (opts.verifySha256) verifyShardBytes(buf, shard);
    const records = readShard(buf, shard.key);
    verifyShardRecordCount(records.length, shard, buf.length);
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
