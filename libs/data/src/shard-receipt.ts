// What a photo ingest remembers of each shard it finished, beside the shard: enough to write the manifest
// without reading the shard back. A rerun whose shard has the same digest (same inputs and settings) reuses
// it when receipt and object agree, so a crash costs only the shards that were being written.
import type { Shard, SkippedFile } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';
import type { ChannelSums } from './channel-stats';

export interface ShardReceipt {
  /** The digest of the shard's inputs and settings; a receipt of other inputs is ignored. */
  digest: string;
  shard: Shard;
  /** Per class: records (classification), boxes (detection) or records showing it (segmentation); empty for unlabeled. */
  classCounts: number[];
  /** The labeled split's pixel sums over this shard's records (exact, so parts add up to one pass's figures). */
  stats?: ChannelSums;
  /** Files of this shard the decoder refused (skipBad). */
  skipped: SkippedFile[];
  /** Boxes a center-crop cut away. */
  droppedBoxes: number;
  /** Records that were resized. */
  resized: number;
}

/** Receipts live apart from the splits' folders, so nothing that lists a split meets them. */
export function receiptKey(prefix: string, shardKey: string): string {
  return `${prefix}/ingest-receipts/${shardKey.slice(prefix.length + 1)}.json`;
}

/** The receipt of a finished shard with this digest, or undefined (no receipt, other inputs, or the object differs). */
export async function finishedShard(store: ObjectStore, prefix: string, shardKey: string, digest: string): Promise<ShardReceipt | undefined> {
  const key = receiptKey(prefix, shardKey);
  if (!(await store.exists(key))) return undefined;
  const receipt = await store.getJson<ShardReceipt>(key);
  if (receipt.digest !== digest) return undefined;
  // Every file of an empty shard was skipped: it has a receipt and no object.
  if (receipt.shard.records === 0) return receipt;
  const st = await store.stat(shardKey);
  return st && st.sha256 === receipt.shard.sha256 && st.sizeBytes === receipt.shard.sizeBytes ? receipt : undefined;
}
