// "Nothing in the bucket touched": every key with its sha256, compared before and after a failed ingest.
import type { ObjectStore } from '@selftrain/storage';

export async function bucketSnapshot(store: ObjectStore): Promise<[string, string][]> {
  return Promise.all((await store.list('')).map(async (k) => [k, (await store.stat(k))!.sha256] as [string, string]));
}
