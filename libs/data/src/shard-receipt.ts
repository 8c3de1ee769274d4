// What an image ingest remembers of each shard it finished, beside the shard: enough to write the manifest
// without reading the shard back. A rerun of the same ingest (same content digest) reuses every shard whose
// receipt and object agree, so a crash costs only the shard that was being written.
import type { Shard, SkippedFile } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';
import type { ChannelMoments } from './channel-stats';

export interface ShardReceipt {
  /** The ingest's content digest; a receipt from another ingest at the same prefix is ignored. */
  digest: string;
  shard: Shard;
  /** Records per class (labeled splits); empty for unlabeled. */
  classCounts: number[];
  /** The labeled split's pixel moments over this shard's records. */
  moments?: ChannelMoments;
  /** Files of this shard the decoder refused (skipBad). */
  skipped: SkippedFile[];
  /** Hidden labels of this shard's records (unlabeled split, from the labeled folder), by record key. */
  hidden: Record<string, number>;
  /** True when some record was resized. */
  resized: boolean;
}

/** Receipts live apart from the splits' folders, so nothing that lists a split meets them. */
export function receiptKey(prefix: string, shardKey: string): string {
  return `${prefix}/ingest-receipts/${shardKey.slice(prefix.length + 1)}.json`;
}

/** The receipt of a finished shard of this ingest, or undefined (no receipt, another ingest's, or the object differs). */
export async function finishedShard(store: ObjectStore, prefix: string, shardKey: string, digest: string): Promise<ShardReceipt | undefined> {
  const key = receiptKey(prefix, shardKey);
  if (!(await store.exists(key))) return undefined;
  const receipt = await store.getJson<ShardReceipt>(key);
  if (receipt.digest !== digest) return undefined;
  const st = await store.stat(shardKey);
  return st && st.sha256 === receipt.shard.sha256 && st.sizeBytes === receipt.shard.sizeBytes ? receipt : undefined;
}

/** Moments of the union of disjoint parts (what one pass over all of their pixels would give). */
export function combineMoments(parts: ChannelMoments[], channels: number): ChannelMoments {
  const sum = new Float64Array(channels);
  const sumSq = new Float64Array(channels);
  let n = 0;
  for (const p of parts) {
    for (let c = 0; c < channels; c++) {
      sum[c] += p.mean[c] * p.pixels;
      sumSq[c] += (p.std[c] * p.std[c] + p.mean[c] * p.mean[c]) * p.pixels;
    }
    n += p.pixels;
  }
  const mean = Array.from(sum, (s) => (n > 0 ? s / n : 0));
  const std = Array.from(sumSq, (s, c) => (n > 0 ? Math.sqrt(Math.max(0, s / n - mean[c] * mean[c])) : 0));
  return { mean, std, pixels: n };
}
