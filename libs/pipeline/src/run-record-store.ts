import { NotFoundError } from '@selftrain/errors';
import { RunRecord } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';

export const runRecordKey = (runId: string) => `runs/${runId}/run.json`;

export async function loadRunRecord(store: ObjectStore, runId: string): Promise<RunRecord | undefined> {
  try {
    return RunRecord.fromJSON(await store.getJson(runRecordKey(runId)));
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

export async function saveRunRecord(store: ObjectStore, record: RunRecord): Promise<void> {
  record.updatedAt = new Date().toISOString();
  await store.putJson(runRecordKey(record.runId), RunRecord.toJSON(record));
}
