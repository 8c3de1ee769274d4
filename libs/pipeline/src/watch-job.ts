import type { Client } from '@grpc/grpc-js';
import { JobState, type JobEvent, type JobStatus, type StartJobResponse, type TeacherClient } from '@selftrain/proto';
import { call, RpcError, stream } from '@selftrain/rpc';

type JobClient = Client & Pick<InstanceType<typeof TeacherClient>, 'watchJob' | 'getJob'>;

const TERMINAL = new Set([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED]);

/**
 * Follows a job to its end. A broken stream is resumed after the last event seen (Watch's after_seq),
 * so progress is never shown twice or lost; returns the final status.
 */
export async function followJob(
  client: JobClient, start: StartJobResponse, onEvent: (e: JobEvent) => void, opts: { requestId: string; reconnects?: number },
): Promise<JobStatus> {
  const jobId = start.status?.jobId ?? '';
  let lastSeq = 0;
  let failures = 0;
  for (;;) {
    try {
      for await (const event of stream<{ jobId: string; afterSeq: number }, JobEvent>(client, client.watchJob, 'WatchJob', { jobId, afterSeq: lastSeq }, { requestId: opts.requestId })) {
        lastSeq = event.seq;
        failures = 0;
        onEvent(event);
      }
      const status = await call<{ jobId: string }, JobStatus>(client, client.getJob, 'GetJob', { jobId }, { requestId: opts.requestId });
      if (TERMINAL.has(status.state)) return status;
    } catch (err) {
      failures += 1;
      if (failures > (opts.reconnects ?? 5) || !(err instanceof RpcError)) throw err;
      await new Promise((r) => setTimeout(r, 1000 * failures));
    }
  }
}
