import type { Client } from '@grpc/grpc-js';
import type { JobEvent, JobStatus, StartJobResponse, TeacherClient } from '@selftrain/proto';
import { NotFoundError } from '@selftrain/errors';
import { isTerminal } from '@selftrain/jobs';
import { call, RpcError, stream } from '@selftrain/rpc';

type JobClient = Client & Pick<InstanceType<typeof TeacherClient>, 'watchJob' | 'getJob'>;

/**
 * Follows a job to its end. A broken stream is resumed after the last event seen (Watch's after_seq),
 * so progress is never shown twice or lost. When the service comes back without the job (its process
 * was lost), `restart` starts it again under the same id, and the service resumes it from its last
 * checkpoint. Returns the final status.
 */
export async function followJob(
  client: JobClient, start: StartJobResponse, onEvent: (e: JobEvent) => void,
  opts: { requestId: string; reconnects?: number; restart?: () => Promise<StartJobResponse> },
): Promise<JobStatus> {
  const jobId = start.status?.jobId ?? '';
  let lastSeq = 0;
  let failures = 0;
  let lost = false;
  for (;;) {
    try {
      if (lost && opts.restart) {
        const again = await opts.restart();
        lost = false;
        // A new process numbers the job's events afresh; the same one (a network blip) goes on.
        if (again.created) lastSeq = 0;
      }
      for await (const event of stream<{ jobId: string; afterSeq: number }, JobEvent>(client, client.watchJob, 'WatchJob', { jobId, afterSeq: lastSeq }, { requestId: opts.requestId })) {
        lastSeq = event.seq;
        failures = 0;
        onEvent(event);
      }
      const status = await call<{ jobId: string }, JobStatus>(client, client.getJob, 'GetJob', { jobId }, { requestId: opts.requestId });
      if (isTerminal(status.state)) return status;
    } catch (err) {
      failures += 1;
      const gone = err instanceof NotFoundError && opts.restart !== undefined;
      if (failures > (opts.reconnects ?? 30) || !(err instanceof RpcError || gone)) throw err;
      // Unavailable: the process may be restarting (a pod being rescheduled); the job may be gone with it.
      lost = true;
      await new Promise((r) => setTimeout(r, Math.min(10_000, 1000 * failures)));
    }
  }
}
