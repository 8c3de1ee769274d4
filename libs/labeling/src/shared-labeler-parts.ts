import { WorkerShardCodec } from '@selftrain/data';
import type { LabelerDeps } from './task-labeler';
import { OneAtATime } from './one-at-a-time';

/**
 * What a long-lived labeler shares across its calls, so that two shards in flight overlap: shards decoded
 * and encoded on a worker thread beside the main thread's inference, and one shard's inference at a time.
 * Nothing here needs closing at shutdown: the worker holds the process only while a call waits on it.
 */
export function sharedLabelerParts(): Required<Pick<LabelerDeps, 'codec' | 'inference'>> {
  return { codec: new WorkerShardCodec(), inference: new OneAtATime() };
}
