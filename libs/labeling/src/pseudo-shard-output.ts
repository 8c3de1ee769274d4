import { createHash } from 'node:crypto';
import { LabelStats, type LabelShardResponse, type Shard } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';

export interface PseudoShardKeys {
  digest: string;
  shard: string;
  stats: string;
}

/**
 * The output key is a digest of (teacher checkpoint sha256, input shard sha256, the options that change
 * labels): a finished shard is found and reused, a retried one overwrites its own partial output. The
 * inference batch size changes speed only, so it is left out. The stats object is written last, so its
 * presence means the shard is complete. Dense tasks put their task name in `options`, so they never share
 * a digest with classification.
 */
export function pseudoShardKeys(outputPrefix: string, checkpointSha: string, shardSha: string, options: object): PseudoShardKeys {
  const { batchSize: _speedOnly, ...labelChanging } = options as { batchSize?: number };
  const digest = createHash('sha256').update(`${checkpointSha}\n${shardSha}\n${JSON.stringify(labelChanging)}`).digest('hex').slice(0, 24);
  return { digest, shard: `${outputPrefix}/${digest}.tfrecord`, stats: `${outputPrefix}/${digest}.stats.json` };
}

interface StoredStats { output: Shard; labelStats: unknown }

/** The response of a shard labeled before (its stats object exists), or null. */
export async function readFinishedShard(store: ObjectStore, keys: PseudoShardKeys, backend: string): Promise<LabelShardResponse | null> {
  const previous = await store.stat(keys.stats);
  if (!previous) return null;
  const stored = await store.getJson<StoredStats>(keys.stats);
  return { output: stored.output, stats: { key: keys.stats, sha256: previous.sha256, sizeBytes: previous.sizeBytes }, labelStats: LabelStats.fromJSON(stored.labelStats), reused: true, backend };
}
