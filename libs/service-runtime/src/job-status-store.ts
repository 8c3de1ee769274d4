import { NotFoundError } from '@selftrain/errors';
import type { JobStatusStore } from '@selftrain/jobs';
import { JobStatus } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';

/** Finished job statuses in the bucket, so GetJob answers after a restart (and from another replica). */
export function bucketJobStatusStore(store: ObjectStore, service: string): JobStatusStore {
  const key = (jobId: string) => `jobs/${service}/${jobId}.json`;
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
  };
}
