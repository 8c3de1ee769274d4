import { CancelledError, ConflictError, NotFoundError, OverloadedError } from '@selftrain/errors';
import type { Logger } from '@selftrain/logger';
import { JobState, type Artifact, type JobEvent, type JobStatus, type Progress, type TrainResult } from '@selftrain/proto';

/** What a running job may do: report progress, notice cancellation. */
export interface JobContext {
  jobId: string;
  signal: AbortSignal;
  logger: Logger;
  progress(progress: Progress, message?: string, checkpoint?: Artifact): void;
}

export type JobWork = (ctx: JobContext) => Promise<TrainResult>;

/** Where finished job statuses are kept so Get still answers after a restart (the bucket, in services). */
export interface JobStatusStore {
  save(status: JobStatus): Promise<void>;
  load(jobId: string): Promise<JobStatus | undefined>;
}

interface JobEntry {
  status: JobStatus;
  requestDigest: string;
  events: JobEvent[];
  controller: AbortController;
  done: Promise<void>;
  listeners: Set<() => void>;
}

const TERMINAL = new Set([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED]);
const MAX_EVENTS_KEPT = 20_000;

export function isTerminal(state: JobState): boolean {
  return TERMINAL.has(state);
}

/**
 * Long work as jobs: Start is idempotent on the client's job id, every change is an event with a dense
 * sequence number so a Watch can resume where it left off, and the job runs on whether or not a client
 * is watching.
 */
export class JobRegistry {
  private readonly jobs = new Map<string, JobEntry>();
  private shuttingDown = false;

  constructor(
    private readonly opts: { logger: Logger; maxConcurrent: number; store?: JobStatusStore },
  ) {}

  running(): number {
    return [...this.jobs.values()].filter((j) => !isTerminal(j.status.state)).length;
  }

  async start(jobId: string, requestDigest: string, work: JobWork): Promise<{ status: JobStatus; created: boolean }> {
    const existing = this.jobs.get(jobId) ?? (await this.restore(jobId));
    if (existing) {
      if (existing.requestDigest && existing.requestDigest !== requestDigest) {
        throw new ConflictError(`job ${jobId} already exists with a different request`);
      }
      return { status: existing.status, created: false };
    }
    if (this.shuttingDown) throw new OverloadedError('service is shutting down');
    if (this.running() >= this.opts.maxConcurrent) {
      throw new OverloadedError(`${this.running()} jobs running (limit ${this.opts.maxConcurrent}); retry later`);
    }
    const now = new Date().toISOString();
    const entry: JobEntry = {
      status: { jobId, state: JobState.JOB_STATE_QUEUED, error: '', lastSeq: 0, createdAt: now, finishedAt: '' },
      requestDigest,
      events: [],
      controller: new AbortController(),
      done: Promise.resolve(),
      listeners: new Set(),
    };
    this.jobs.set(jobId, entry);
    const logger = this.opts.logger.child({ jobId });
    this.emit(entry, JobState.JOB_STATE_QUEUED, 'queued');
    entry.done = this.run(entry, work, logger);
    return { status: entry.status, created: true };
  }

  get(jobId: string): JobStatus {
    const entry = this.jobs.get(jobId);
    if (!entry) throw new NotFoundError(`job ${jobId}`);
    return entry.status;
  }

  async getOrRestore(jobId: string): Promise<JobStatus> {
    const entry = this.jobs.get(jobId) ?? (await this.restore(jobId));
    if (!entry) throw new NotFoundError(`job ${jobId}`);
    return entry.status;
  }

  cancel(jobId: string): JobStatus {
    const entry = this.jobs.get(jobId);
    if (!entry) throw new NotFoundError(`job ${jobId}`);
    if (!isTerminal(entry.status.state)) entry.controller.abort(new CancelledError('cancelled by request'));
    return entry.status;
  }

  /** Events after `afterSeq`, then live ones, until the job ends or the signal aborts. */
  async *watch(jobId: string, afterSeq: number, signal: AbortSignal): AsyncGenerator<JobEvent> {
    const entry = this.jobs.get(jobId) ?? (await this.restore(jobId));
    if (!entry) throw new NotFoundError(`job ${jobId}`);
    let next = afterSeq;
    for (;;) {
      const pending = entry.events.filter((e) => e.seq > next);
      for (const e of pending) {
        next = e.seq;
        yield e;
      }
      // Events may have arrived while the consumer held the last one: only stop once they are drained.
      const drained = !entry.events.some((e) => e.seq > next);
      if (drained && (isTerminal(entry.status.state) || signal.aborted)) return;
      if (!drained) continue;
      await new Promise<void>((resolve) => {
        const wake = () => { entry.listeners.delete(wake); signal.removeEventListener('abort', wake); resolve(); };
        entry.listeners.add(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
  }

  /** SIGTERM: refuse new jobs, ask running ones to checkpoint and stop, wait for them. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    for (const entry of this.jobs.values()) {
      if (!isTerminal(entry.status.state)) entry.controller.abort(new CancelledError('service shutting down'));
    }
    await Promise.all([...this.jobs.values()].map((j) => j.done));
  }

  private async run(entry: JobEntry, work: JobWork, logger: Logger): Promise<void> {
    await Promise.resolve();
    this.emit(entry, JobState.JOB_STATE_RUNNING, 'started');
    const ctx: JobContext = {
      jobId: entry.status.jobId,
      signal: entry.controller.signal,
      logger,
      progress: (progress, message = '', checkpoint) => {
        entry.status = { ...entry.status, progress };
        this.emit(entry, JobState.JOB_STATE_RUNNING, message, checkpoint);
      },
    };
    try {
      const result = await work(ctx);
      entry.status = { ...entry.status, result };
      this.emit(entry, JobState.JOB_STATE_SUCCEEDED, 'succeeded', result.bestCheckpoint);
      logger.info({ steps: result.steps, bestValTop1: result.bestValTop1 }, 'job succeeded');
    } catch (err) {
      const cancelled = err instanceof CancelledError || entry.controller.signal.aborted;
      const message = err instanceof Error ? err.message : String(err);
      entry.status = { ...entry.status, error: message };
      this.emit(entry, cancelled ? JobState.JOB_STATE_CANCELLED : JobState.JOB_STATE_FAILED, message);
      if (cancelled) logger.warn({ error: message }, 'job cancelled');
      else logger.error({ err }, 'job failed');
    }
    entry.status = { ...entry.status, finishedAt: new Date().toISOString() };
    await this.opts.store?.save({ ...entry.status }).catch((err: unknown) => logger.error({ err }, 'could not persist job status'));
  }

  private emit(entry: JobEntry, state: JobState, message: string, checkpoint?: Artifact): void {
    const seq = entry.status.lastSeq + 1;
    entry.status = { ...entry.status, state, lastSeq: seq };
    entry.events.push({
      seq, jobId: entry.status.jobId, state, progress: entry.status.progress, message, checkpoint, time: new Date().toISOString(),
    });
    // Old progress events go first; a resuming watcher still gets every state change and the latest progress.
    if (entry.events.length > MAX_EVENTS_KEPT) entry.events.splice(1, entry.events.length - MAX_EVENTS_KEPT);
    for (const wake of [...entry.listeners]) wake();
  }

  private async restore(jobId: string): Promise<JobEntry | undefined> {
    const status = await this.opts.store?.load(jobId);
    if (!status) return undefined;
    const entry: JobEntry = {
      status, requestDigest: '', controller: new AbortController(), done: Promise.resolve(), listeners: new Set(),
      events: [{ seq: status.lastSeq, jobId, state: status.state, progress: status.progress, message: status.error || 'restored', checkpoint: status.result?.bestCheckpoint, time: status.finishedAt }],
    };
    this.jobs.set(jobId, entry);
    return entry;
  }
}
