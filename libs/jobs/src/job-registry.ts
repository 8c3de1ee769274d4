import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { CancelledError, ConflictError, NotFoundError, OverloadedError, UnavailableError } from '@selftrain/errors';
import type { Logger } from '@selftrain/logger';
import { JobState, type Artifact, type JobEvent, type JobStatus, type Progress, type TrainResult } from '@selftrain/proto';
import { isTerminal } from './terminal-states';

/** What a running job may do: report progress, notice cancellation. */
export interface JobContext {
  jobId: string;
  signal: AbortSignal;
  logger: Logger;
  progress(progress: Progress, message?: string, checkpoint?: Artifact): void;
}

export type JobWork = (ctx: JobContext) => Promise<TrainResult>;

/**
 * Where job statuses live so that every replica of a service sees them (the bucket, in services):
 * the owner writes them as the job runs, any replica reads them, and a cancel asked of a replica that
 * does not run the job is left as a marker for the owner.
 */
export interface JobStatusStore {
  save(status: JobStatus): Promise<void>;
  load(jobId: string): Promise<JobStatus | undefined>;
  requestCancel?(jobId: string): Promise<void>;
  cancelRequested?(jobId: string): Promise<boolean>;
  clearCancel?(jobId: string): Promise<void>;
}

interface JobEntry {
  status: JobStatus;
  requestDigest: string;
  events: JobEvent[];
  controller: AbortController;
  done: Promise<void>;
  listeners: Set<() => void>;
  /** Saves run one after another, so an older snapshot never lands after a newer one. */
  saving: Promise<void>;
  lastSavedAt: number;
}

const PROGRESS_SAVE_INTERVAL_MS = 1000;
const REMOTE_POLL_MS = 1000;

const MAX_EVENTS_KEPT = 20_000;


/** FAILED because the process failed under the job (see JobRegistry's isProcessFault): a Start resumes it. */
function resumableFailure(s: JobStatus): boolean {
  return s.state === JobState.JOB_STATE_FAILED && s.resumable === true;
}

/**
 * Long work as jobs: Start is idempotent on the client's job id, every change is an event with a dense
 * sequence number so a Watch can resume where it left off, and the job runs on whether or not a client
 * is watching.
 */
export class JobRegistry {
  private readonly jobs = new Map<string, JobEntry>();
  private shuttingDown = false;
  /** Set by abandon(): nothing more is written for the jobs of this process. */
  private abandoned = false;
  /** This process, as named in the statuses it owns. */
  readonly owner: string;
  private readonly leaseMs: number;

  constructor(
    private readonly opts: {
      logger: Logger; maxConcurrent: number; store?: JobStatusStore;
      /** Told of every progress report (metrics: images/s). */
      onProgress?: (progress: Progress) => void;
      /** A running job's owner renews its lease every third of this; a job not renewed this long is orphaned. */
      leaseMs?: number;
      owner?: string;
      /**
       * Tells a fault of this process (its compute backend broke under the job) from a failure of the
       * job: such a job is saved FAILED but `resumable`, released, so the next Start anywhere resumes it
       * from its last checkpoint; then onProcessFault is told.
       */
      isProcessFault?: (err: unknown) => boolean;
      onProcessFault?: (jobId: string, err: unknown) => void;
    },
  ) {
    this.owner = opts.owner ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.leaseMs = opts.leaseMs ?? 30_000;
  }

  /** Running on another replica that still renews its lease. */
  private liveElsewhere(s: JobStatus): boolean {
    return !isTerminal(s.state) && s.owner !== '' && s.owner !== this.owner && Date.now() - Date.parse(s.heartbeatAt) < this.leaseMs;
  }

  running(): number {
    return [...this.jobs.values()].filter((j) => !isTerminal(j.status.state)).length;
  }

  /** How many jobs this process holds in each state (for the jobs-by-state gauge). */
  countByState(): Map<JobState, number> {
    const counts = new Map<JobState, number>();
    for (const j of this.jobs.values()) counts.set(j.status.state, (counts.get(j.status.state) ?? 0) + 1);
    return counts;
  }

  async start(jobId: string, requestDigest: string, work: JobWork): Promise<{ status: JobStatus; created: boolean }> {
    let local = this.jobs.get(jobId);
    // Failed under a broken process (restored from the bucket here): not the job's end, a Start resumes it.
    if (local && resumableFailure(local.status) && !this.shuttingDown) {
      this.jobs.delete(jobId);
      local = undefined;
    }
    const persisted = local ? undefined : await this.opts.store?.load(jobId);
    const known = local?.status ?? persisted;
    const digest = local?.requestDigest ?? persisted?.requestDigest ?? '';
    if (known && digest && digest !== requestDigest) throw new ConflictError(`job ${jobId} already exists with a different request`);
    if (local) return { status: local.status, created: false };
    if (persisted && isTerminal(persisted.state) && !resumableFailure(persisted)) return { status: this.restored(persisted).status, created: false };
    if (persisted && this.liveElsewhere(persisted)) return { status: persisted, created: false };
    // Unknown, or orphaned by a replica that stopped renewing its lease: run it here (it resumes from its checkpoint).
    if (persisted && resumableFailure(persisted)) this.opts.logger.warn({ jobId, error: persisted.error }, 'resuming a job whose process failed under it');
    else if (persisted) this.opts.logger.warn({ jobId, previousOwner: persisted.owner }, 'taking over an orphaned job');
    if (this.shuttingDown) throw new OverloadedError('service is shutting down');
    if (this.running() >= this.opts.maxConcurrent) {
      throw new OverloadedError(`${this.running()} jobs running (limit ${this.opts.maxConcurrent}); retry later`);
    }
    const now = new Date().toISOString();
    const entry: JobEntry = {
      status: { jobId, state: JobState.JOB_STATE_QUEUED, error: '', lastSeq: 0, createdAt: now, finishedAt: '', owner: this.owner, heartbeatAt: now, requestDigest, resumable: false },
      requestDigest,
      events: [],
      controller: new AbortController(),
      done: Promise.resolve(),
      listeners: new Set(),
      saving: Promise.resolve(),
      lastSavedAt: 0,
    };
    this.jobs.set(jobId, entry);
    const logger = this.opts.logger.child({ jobId });
    this.emit(entry, JobState.JOB_STATE_QUEUED, 'queued');
    entry.done = this.run(entry, work, logger);
    return { status: entry.status, created: true };
  }

  /** This process runs the job now (a Start of it changes nothing). */
  runsHere(jobId: string): boolean {
    const entry = this.jobs.get(jobId);
    return entry !== undefined && !isTerminal(entry.status.state);
  }

  get(jobId: string): JobStatus {
    const entry = this.jobs.get(jobId);
    if (!entry) throw new NotFoundError(`job ${jobId}`);
    return entry.status;
  }

  /** From this process, or from the bucket for a job another replica runs (read fresh each time). */
  async getOrRestore(jobId: string): Promise<JobStatus> {
    const entry = this.jobs.get(jobId);
    if (entry) return entry.status;
    const persisted = await this.opts.store?.load(jobId);
    if (!persisted) throw new NotFoundError(`job ${jobId}`);
    return isTerminal(persisted.state) ? this.restored(persisted).status : persisted;
  }

  /** Cancels here, or leaves a request for the replica that runs the job (it acts on its next lease renewal). */
  async cancel(jobId: string): Promise<JobStatus> {
    const entry = this.jobs.get(jobId);
    if (entry) {
      if (!isTerminal(entry.status.state)) entry.controller.abort(new CancelledError('cancelled by request'));
      return entry.status;
    }
    const status = await this.getOrRestore(jobId);
    if (!isTerminal(status.state)) await this.opts.store?.requestCancel?.(jobId);
    return status;
  }

  /** Events after `afterSeq`, then live ones, until the job ends or the signal aborts. */
  async *watch(jobId: string, afterSeq: number, signal: AbortSignal): AsyncGenerator<JobEvent> {
    let entry = this.jobs.get(jobId);
    if (!entry) {
      const persisted = await this.opts.store?.load(jobId);
      if (!persisted) throw new NotFoundError(`job ${jobId}`);
      if (!isTerminal(persisted.state)) {
        yield* this.watchElsewhere(jobId, afterSeq, signal);
        return;
      }
      entry = this.restored(persisted);
    }
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

  /**
   * The process cannot go on (its compute backend failed): every running job is saved as released, as
   * SIGTERM leaves it, but without the checkpoint a shutdown writes (this process's tensors cannot be
   * trusted to make one), so the next Start anywhere resumes it from its last periodic checkpoint. The
   * jobs' work is not stopped (the process is about to exit); nothing more is written for them, and new
   * Starts are refused.
   */
  async abandon(): Promise<void> {
    this.shuttingDown = true;
    const running = [...this.jobs.values()].filter((j) => !isTerminal(j.status.state));
    const saves = running.map((entry) => {
      const logger = this.opts.logger.child({ jobId: entry.status.jobId });
      logger.warn('job released: this process is exiting; starting it again resumes it from its last checkpoint');
      return this.persist(entry, logger, { state: JobState.JOB_STATE_RUNNING, owner: '', finishedAt: '' });
    });
    this.abandoned = true;
    await Promise.all(saves);
  }

  /**
   * A job another replica runs, followed through its status in the bucket: one event per change seen
   * (intermediate progress is collapsed to the latest). Its owner stopping → UNAVAILABLE, and a Start
   * (here or anywhere) takes it over.
   */
  private async *watchElsewhere(jobId: string, afterSeq: number, signal: AbortSignal): AsyncGenerator<JobEvent> {
    let next = afterSeq;
    while (!signal.aborted) {
      const s = await this.opts.store!.load(jobId);
      if (!s) throw new NotFoundError(`job ${jobId}`);
      if (s.lastSeq > next) {
        next = s.lastSeq;
        yield { seq: s.lastSeq, jobId, state: s.state, progress: s.progress, message: s.error || `on ${s.owner}`, checkpoint: s.result?.bestCheckpoint, time: s.heartbeatAt };
      }
      if (isTerminal(s.state)) return;
      if (!this.liveElsewhere(s)) throw new UnavailableError(`job ${jobId}: its replica ${s.owner || '(released)'} stopped; start it again to resume it from its last checkpoint`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, REMOTE_POLL_MS);
        signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
      });
    }
  }

  /**
   * One lease renewal: yield to a live replica that started the same job first (two Starts that raced
   * on two replicas; the earlier claim wins on both sides, ties by owner name), pick up a cancel left
   * by another replica, then write the status with a fresh heartbeat.
   */
  private async renew(entry: JobEntry, logger: Logger, yieldJob: () => void): Promise<void> {
    const store = this.opts.store;
    if (!store || entry.controller.signal.aborted || this.abandoned) return;
    const jobId = entry.status.jobId;
    const current = await store.load(jobId).catch(() => undefined);
    if (current && this.liveElsewhere(current)) {
      const mine = entry.status.createdAt;
      if (current.createdAt < mine || (current.createdAt === mine && current.owner < this.owner)) {
        logger.warn({ owner: current.owner }, 'another replica started this job first; leaving it to that one');
        yieldJob();
        entry.controller.abort(new CancelledError(`replica ${current.owner} runs this job; watch it again`));
        return;
      }
    }
    if (await store.cancelRequested?.(jobId).catch(() => false)) {
      entry.controller.abort(new CancelledError('cancelled by request (through another replica)'));
    }
    // The job may have ended while this renewal waited on the bucket: its final save is not to be overwritten.
    if (isTerminal(entry.status.state)) return;
    await this.persist(entry, logger);
  }

  /** Queues a save of the entry's current status (owner and lease stamped now). */
  private persist(entry: JobEntry, logger: Logger, override: Partial<JobStatus> = {}): Promise<void> {
    const store = this.opts.store;
    if (!store || this.abandoned) return entry.saving;
    entry.lastSavedAt = Date.now();
    const snapshot: JobStatus = { ...entry.status, owner: this.owner, heartbeatAt: new Date().toISOString(), ...override };
    entry.saving = entry.saving.then(() => store.save(snapshot)).catch((err: unknown) => logger.error({ err }, 'could not persist job status'));
    return entry.saving;
  }

  private async run(entry: JobEntry, work: JobWork, logger: Logger): Promise<void> {
    await Promise.resolve();
    this.emit(entry, JobState.JOB_STATE_RUNNING, 'started');
    void this.persist(entry, logger);
    // The lease: renewed while the job runs; a cancel left by another replica is picked up here.
    let yielded = false;
    let renewing = false;
    const lease = setInterval(() => {
      if (renewing) return;
      renewing = true;
      void this.renew(entry, logger, () => { yielded = true; }).finally(() => { renewing = false; });
    }, Math.max(100, this.leaseMs / 3));
    lease.unref();
    const ctx: JobContext = {
      jobId: entry.status.jobId,
      signal: entry.controller.signal,
      logger,
      progress: (progress, message = '', checkpoint) => {
        entry.status = { ...entry.status, progress };
        this.opts.onProgress?.(progress);
        this.emit(entry, JobState.JOB_STATE_RUNNING, message, checkpoint);
        if (Date.now() - entry.lastSavedAt >= PROGRESS_SAVE_INTERVAL_MS) void this.persist(entry, logger);
      },
    };
    let processFault = false;
    let fault: unknown;
    try {
      const result = await work(ctx);
      entry.status = { ...entry.status, result };
      this.emit(entry, JobState.JOB_STATE_SUCCEEDED, 'succeeded', result.bestCheckpoint);
      logger.info({ steps: result.steps, bestValTop1: result.bestValTop1 }, 'job succeeded');
    } catch (err) {
      const cancelled = err instanceof CancelledError || entry.controller.signal.aborted;
      processFault = !cancelled && this.opts.isProcessFault?.(err) === true;
      fault = err;
      const reason = err instanceof Error ? err.message : String(err);
      const message = processFault ? `${reason} (the compute backend of ${this.owner} failed under this job; start it again to resume it from its last checkpoint)` : reason;
      entry.status = { ...entry.status, error: message, resumable: processFault };
      this.emit(entry, cancelled ? JobState.JOB_STATE_CANCELLED : JobState.JOB_STATE_FAILED, message);
      if (cancelled) logger.warn({ error: message }, 'job cancelled');
      else logger.error({ err, resumable: processFault }, 'job failed');
    }
    clearInterval(lease);
    entry.status = { ...entry.status, finishedAt: new Date().toISOString() };
    if (yielded) {
      // The other replica's run is the job: this one leaves no trace, and Get/Watch here read the bucket.
      this.jobs.delete(entry.status.jobId);
      return;
    }
    // A job stopped by its own service's shutdown is interrupted, not finished: it is saved as still
    // running but released (no owner), so the next Start, on any replica, resumes it from its checkpoint.
    if (this.shuttingDown && entry.status.state === JobState.JOB_STATE_CANCELLED) {
      logger.warn('job interrupted by shutdown; starting it again resumes from its last checkpoint');
      await this.persist(entry, logger, { state: JobState.JOB_STATE_RUNNING, owner: '', finishedAt: '' });
      return;
    }
    await this.persist(entry, logger, { owner: '' });
    if (processFault) {
      this.opts.onProcessFault?.(entry.status.jobId, fault);
      return;
    }
    await this.opts.store?.clearCancel?.(entry.status.jobId).catch(() => undefined);
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

  /** A finished job from the bucket, kept here (it cannot change any more). */
  private restored(status: JobStatus): JobEntry {
    const jobId = status.jobId;
    const entry: JobEntry = {
      status, requestDigest: status.requestDigest, controller: new AbortController(), done: Promise.resolve(), listeners: new Set(),
      events: [{ seq: status.lastSeq, jobId, state: status.state, progress: status.progress, message: status.error || 'restored', checkpoint: status.result?.bestCheckpoint, time: status.finishedAt }],
      saving: Promise.resolve(), lastSavedAt: 0,
    };
    this.jobs.set(jobId, entry);
    return entry;
  }
}
