// "Nothing in the bucket touched": every key with its sha256, compared before and after a failed ingest.
import type { ObjectStore } from '@selftrain/storage';

export async function bucketSnapshot(store: ObjectStore): Promise<[string, string][]> {
  return Promise.all((await store.list('')).map(async (k) => [k, (await store.stat(k))!.sha256] as [string, string]));
}

/** How `after` differs from `before`: keys gone or holding other bytes (`changed`), and new keys (`added`). */
export function snapshotChanges(before: [string, string][], after: [string, string][]): { changed: string[]; added: string[] } {
  const now = new Map(after);
  const was = new Map(before);
  return {
    changed: before.filter(([k, sha]) => now.get(k) !== sha).map(([k]) => k),
    added: after.filter(([k]) => !was.has(k)).map(([k]) => k),
  };
}

/**
 * What a failed photo ingest did beyond what it may: it may leave the shards it finished, with their receipts,
 * for its rerun to reuse, and nothing else; every object already there stays as it was. Empty when it kept to that.
 */
export function failedRunTrespasses(before: [string, string][], after: [string, string][]): string[] {
  const { changed, added } = snapshotChanges(before, after);
  const mayAdd = (key: string) => key.endsWith('.tfrecord') || key.includes('/ingest-receipts/');
  return [...changed.map((k) => `changed ${k}`), ...added.filter((k) => !mayAdd(k)).map((k) => `added ${k}`)];
}
