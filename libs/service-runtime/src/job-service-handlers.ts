import { requireId } from '@selftrain/errors';
import { JobRegistry } from '@selftrain/jobs';
import { JobState, type CancelJobRequest, GetInfoRequest, GetJobRequest, JobEvent, JobStatus, ServiceInfo, StartJobResponse, WatchJobRequest } from '@selftrain/proto';
import { serverStream, unary, type RequestContext } from '@selftrain/rpc';
import { isComputeBackendFault, wasmOutOfBoundsAccess } from './compute-fault';
import { bucketJobStatusStore } from './job-status-store';
import type { ServiceDeps } from './run-service';

export const SELFTRAIN_VERSION = '0.1.0';

export function serviceInfo(deps: ServiceDeps): ServiceInfo {
  return {
    service: deps.config.service, backend: deps.backend.name, version: SELFTRAIN_VERSION, gpu: deps.backend.gpu,
    kernels: deps.backend.kernels ?? '',
  };
}

export function getInfoHandler(deps: ServiceDeps) {
  return unary<GetInfoRequest, ServiceInfo>(deps.scope, 'GetInfo', async () => serviceInfo(deps), 'read');
}

/** The job half of a training service (Start/Watch/Get/Cancel/Info); `start` validates and launches. */
export function jobServiceHandlers<StartReq>(
  deps: ServiceDeps,
  jobs: JobRegistry,
  start: (request: StartReq, ctx: RequestContext) => Promise<StartJobResponse>,
) {
  return {
    startTraining: unary<StartReq, StartJobResponse>(deps.scope, 'StartTraining', start),
    watchJob: serverStream<WatchJobRequest, JobEvent>(deps.scope, 'WatchJob', async (req, ctx, send) => {
      const jobId = requireId(req.jobId, 'job_id');
      for await (const event of jobs.watch(jobId, Math.max(0, req.afterSeq || 0), ctx.signal)) send(event);
    }),
    // Reads have their own admission limit: a service busy with work still says how its jobs are doing.
    getJob: unary<GetJobRequest, JobStatus>(deps.scope, 'GetJob', async (req) => jobs.getOrRestore(requireId(req.jobId, 'job_id')), 'read'),
    cancelJob: unary<CancelJobRequest, JobStatus>(deps.scope, 'CancelJob', async (req) => jobs.cancel(requireId(req.jobId, 'job_id'))),
    getInfo: getInfoHandler(deps),
  };
}

/**
 * A training service's registry: job status persisted in the bucket, throughput reported to the metrics,
 * and a job the compute backend failed under recorded as resumable before the process goes down.
 */
export function trainingJobRegistry(deps: ServiceDeps, role: 'teacher' | 'student'): JobRegistry {
  const faultAt = deps.config.testComputeFaultAtStep;
  return new JobRegistry({
    logger: deps.logger, maxConcurrent: deps.config.maxConcurrentJobs, store: bucketJobStatusStore(deps.store, role),
    leaseMs: deps.config.jobLeaseSeconds * 1000,
    onProgress: (p) => {
      deps.metrics.trainingRate(p.imagesPerSecond);
      // Test-only: thrown from inside the job's training loop, as a real fault of a step would be.
      if (faultAt !== undefined && p.step >= faultAt) wasmOutOfBoundsAccess();
    },
    isProcessFault: isComputeBackendFault,
    onProcessFault: (jobId, err) => deps.faults.trip(err, { jobId }),
  });
}

/** Counts by state name (JOB_STATE_RUNNING, ...) for the jobs gauge. */
export function jobStateNames(jobs: JobRegistry): Map<string, number> {
  return new Map([...jobs.countByState()].map(([state, n]) => [JobState[state], n]));
}
