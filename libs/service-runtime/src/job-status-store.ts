import { CorruptDataError, NotFoundError } from '@selftrain/errors';
import type { JobStatusStore } from '@selftrain/jobs';
import { JobStatus } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';

const STATUS_READ_ATTEMPTS = 5;

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
      for (let attempt = 1; ; attempt++) {
        try {
          const json = await store.getJson(key(jobId));
          if (typeof json !== 'object' || json === null || Array.isArray(json)) {
            throw new CorruptDataError(key(jobId), 0, `not a job status: the document is ${JSON.stringify(json)?.slice(0, 40)}`);
          }
          return JobStatus.fromJSON(json);
        } catch (err) {
          if (err instanceof NotFoundError) return undefined;
          // A status is the one object rewritten in place while other replicas read it. An endpoint whose
          // overwrites are not atomic (the embedded s3rver writes body and metadata apart) can hand back the
          // new body with the old checksum, or half a body, meanwhile: read it again before giving up.
          if (err instanceof CorruptDataError && attempt < STATUS_READ_ATTEMPTS) {
            await new Promise((r) => setTimeout(r, 25 * attempt));
            continue;
          }
          throw err;
        }
      }
    },
    requestCancel: async (jobId) => void (await store.putJson(cancelKey(jobId), { jobId, requestedAt: new Date().toISOString() })),
    cancelRequested: (jobId) => store.exists(cancelKey(jobId)),
    clearCancel: async (jobId) => {
      if (await store.exists(cancelKey(jobId))) await store.delete(cancelKey(jobId));
    },
  };
}
