import { NotFoundError } from '@selftrain/errors';
import type { JobStatusStore } from '@selftrain/jobs';
import { JobStatus } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';

/**
 * Job statuses in the bucket, written by the replica running each job as it goes: GetJob, WatchJob and
 * CancelJob answer from any replica of the service, and after a restart.
 */
export function bucketJobStatusStore(store: ObjectStore, service: string): JobStatusStore {
  const key = (jobId: string) => `jobs/${service}/${jobId}.json`;
  const cancelKey = (jobId: string) => `jobs/${service}/${jobId}.cancel`;
  return {
    save: async (status) => void (await store.putJson(key(status.jobId), JobStatus.toJSON(status))),
    load: async (jobId) => {
      try {
        return JobStatus.fromJSON(await store.getJson(key(jobId)));
      } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      }
    },
    requestCancel: async (jobId) => void (await store.putJson(cancelKey(jobId), { jobId, requestedAt: new Date().toISOString() })),
    cancelRequested: (jobId) => store.exists(cancelKey(jobId)),
    clearCancel: async (jobId) => {
      if (await store.exists(cancelKey(jobId))) await store.delete(cancelKey(jobId));
    },
  };
}
