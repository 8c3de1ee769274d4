import { JobState } from '@selftrain/proto';

/** The states a job never leaves: the registry stops its work there, and a watcher stops watching. */
export const TERMINAL_JOB_STATES: ReadonlySet<JobState> = new Set([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED]);

export function isTerminal(state: JobState): boolean {
  return TERMINAL_JOB_STATES.has(state);
}
