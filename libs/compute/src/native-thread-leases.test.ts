import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nativeCpuKernels, nativeThreads, withNativeThreads } from './index';

const status = nativeCpuKernels();

test('withNativeThreads: the largest count held while jobs overlap, 1 once the last settles (thrown or not)', { skip: status.loaded ? false : `native kernels not loaded: ${status.loaded ? '' : status.reason}` }, async () => {
  assert.equal(nativeThreads(), 1);
  let release!: () => void;
  const long = withNativeThreads(2, () => new Promise<void>((resolve) => { release = resolve; }).then(() => nativeThreads()));
  assert.equal(nativeThreads(), 2);
  await withNativeThreads(3, async () => {
    assert.equal(nativeThreads(), 3, 'the larger of the two held');
  });
  assert.equal(nativeThreads(), 2, 'back to the running job\'s count');
  await assert.rejects(withNativeThreads(4, async () => { throw new Error('job failed'); }), /job failed/);
  assert.equal(nativeThreads(), 2, 'a failed job gives its threads back');
  release();
  assert.equal(await long, 2);
  assert.equal(nativeThreads(), 1);
  await assert.rejects(withNativeThreads(0, async () => undefined), /integer >= 1/);
  assert.equal(nativeThreads(), 1);
});
