import { OverloadedError } from '@selftrain/errors';
import { JobState, type StartJobResponse, type StartStudentRequest, type StartTeacherRequest, type TrainResult } from '@selftrain/proto';
import { call } from '@selftrain/rpc';
import type { ProgressDisplay } from './progress-display';
import type { ServiceClients } from './service-clients';
import { followJob } from './watch-job';

/** What a training job needs of the driver's deps (DriverDeps passes as it is). */
export interface TrainingJobDeps {
  clients: ServiceClients;
  display: ProgressDisplay;
  requestId: string;
}

/**
 * Starts a training job on the teacher or student service (idempotent on job_id), follows it with a
 * progress bar, starts it again if the service lost it (it resumes from its last checkpoint), and
 * returns its result; any end but success is an error naming the job.
 */
export async function runTrainingJob(
  deps: TrainingJobDeps, role: 'teacher' | 'student', request: StartTeacherRequest | StartStudentRequest, label: string,
): Promise<TrainResult> {
  const { display } = deps;
  const client = role === 'teacher' ? deps.clients.teacher : deps.clients.student;
  const startJob = () => call<typeof request, StartJobResponse>(client, client.startTraining as never, 'StartTraining', request, { requestId: deps.requestId });
  const started = await waitWhileBusy(startJob, () => display.note(`${label}: the ${role} is running as many jobs as it takes; waiting for a free slot`));
  if (!started.created) display.note(`${label}: job ${request.jobId} already exists; following it`);
  const status = await followJob(client, started, (e) => {
    const p = e.progress;
    if (p) display.update(label, p.step, p.totalSteps, `loss ${p.loss.toFixed(3)} val ${(100 * p.valTop1).toFixed(1)}% ${p.imagesPerSecond.toFixed(0)} img/s eta ${Math.round(p.etaSeconds)}s`);
  }, {
    requestId: deps.requestId,
    restart: () => {
      display.note(`${label}: the ${role} lost job ${request.jobId}; starting it again (it resumes from its last checkpoint)`);
      return startJob();
    },
  });
  if (status.result?.resumedFromStep) display.note(`${label}: resumed from step ${status.result.resumedFromStep} after the ${role} was lost`);
  if (status.state !== JobState.JOB_STATE_SUCCEEDED || !status.result?.bestCheckpoint) {
    throw new Error(`${role} job ${request.jobId} ended ${JobState[status.state]}: ${status.error || 'no checkpoint'}`);
  }
  display.finish(label, `${status.result.steps} steps, best val top-1 ${(100 * status.result.bestValTop1).toFixed(2)}%, ${status.result.imagesPerSecond.toFixed(0)} img/s on ${status.result.backend}`);
  return status.result;
}

const BUSY_RETRY_MS = 5_000;

/** RESOURCE_EXHAUSTED from Start means the service is at its job limit: queue behind it, not fail. */
async function waitWhileBusy<T>(start: () => Promise<T>, onFirstWait: () => void): Promise<T> {
  for (let waited = false; ; waited = true) {
    try {
      return await start();
    } catch (err) {
      if (!(err instanceof OverloadedError)) throw err;
      if (!waited) onFirstWait();
      await new Promise((r) => setTimeout(r, BUSY_RETRY_MS));
    }
  }
}
