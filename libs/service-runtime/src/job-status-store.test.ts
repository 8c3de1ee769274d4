import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CorruptDataError, NotFoundError } from '@selftrain/errors';
import { JobState, JobStatus } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';
import { bucketJobStatusStore } from './job-status-store';

/** A store whose getJson fails with `failures` first, as a read racing an in-place rewrite does. */
function racingStore(failures: Error[], value: unknown): ObjectStore & { reads: number } {
  const s = {
    reads: 0,
    getJson: async () => {
      s.reads += 1;
      const err = failures.shift();
      if (err) throw err;
      return value;
    },
  };
  return s as unknown as ObjectStore & { reads: number };
}

const status = JobStatus.toJSON(JobStatus.fromPartial({ jobId: 'j', state: JobState.JOB_STATE_RUNNING }));

test('a status read that races its rewrite (checksum mismatch, half a body) is read again', async () => {
  const store = racingStore([new CorruptDataError('jobs/teacher/j.json', 0, 'sha256 x does not match the recorded y'), new CorruptDataError('jobs/teacher/j.json', 0, 'is not valid JSON')], status);
  const loaded = await bucketJobStatusStore(store, 'teacher').load('j');
  assert.equal(loaded?.state, JobState.JOB_STATE_RUNNING);
  assert.equal(store.reads, 3);
});

test('a status that stays corrupt fails after a few reads; a missing one is undefined', async () => {
  const bad = () => new CorruptDataError('jobs/teacher/j.json', 0, 'sha256 x does not match the recorded y');
  const store = racingStore([bad(), bad(), bad(), bad(), bad(), bad()], status);
  await assert.rejects(bucketJobStatusStore(store, 'teacher').load('j'), CorruptDataError);
  assert.equal(store.reads, 5);
  assert.equal(await bucketJobStatusStore(racingStore([new NotFoundError('jobs/teacher/j.json')], status), 'teacher').load('j'), undefined);
});
