import { createHash } from 'node:crypto';
import { CorruptDataError } from '@selftrain/errors';
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

/** The stats object's `input`: the shard as the labeler verified it (bytes' sha256, decoded record count). */
export interface VerifiedInput { shard: string; sha256: string; records: number; sizeBytes: number }

export function verifiedInputJson(input: Shard): VerifiedInput {
  return { shard: input.key, sha256: input.sha256, records: input.records, sizeBytes: input.sizeBytes };
}

interface StoredStats { output: Shard; labelStats: unknown; input?: Partial<VerifiedInput> }

/**
 * The response of a shard labeled before (its stats object exists), or null. Stats that do not record
 * a verified input (a labeler before the input checks wrote them, or they are damaged) do not count as
 * finished: the shard is labeled again and its output overwritten.
 */
export async function readFinishedShard(store: ObjectStore, keys: PseudoShardKeys, backend: string): Promise<LabelShardResponse | null> {
  const previous = await store.stat(keys.stats);
  if (!previous) return null;
  const stored = await store.getJson<StoredStats | null>(keys.stats).catch((e: unknown) => {
    if (e instanceof CorruptDataError) return null;
    throw e;
  });
  const input = stored?.input;
  if (!stored?.output || typeof input?.records !== 'number' || typeof input.shard !== 'string' || typeof input.sha256 !== 'string') return null;
  return {
    output: stored.output, stats: { key: keys.stats, sha256: previous.sha256, sizeBytes: previous.sizeBytes }, labelStats: LabelStats.fromJSON(stored.labelStats), reused: true, backend,
    input: { key: input.shard, sha256: input.sha256, records: input.records, sizeBytes: input.sizeBytes ?? 0 },
  };
}
