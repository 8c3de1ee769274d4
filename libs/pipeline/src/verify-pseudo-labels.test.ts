import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FailedPreconditionError } from '@selftrain/errors';
import type { LabelShardResponse, Shard } from '@selftrain/proto';
import { verifiedInputProblems, verifyLabeledInputs } from './verify-pseudo-labels';

const shard = (i: number): Shard => ({ key: `d/unlabeled-${i}.tfrecord`, records: 512, sha256: `${i}`.repeat(64), sizeBytes: 1000 });
const reply = (input: Shard | undefined): LabelShardResponse => ({ reused: false, backend: 'wasm', ...(input ? { input } : {}) });

test('the labeling stage accepts replies that verified the manifest\'s bytes and record counts', () => {
  const shards = [shard(1), shard(2)];
  verifyLabeledInputs(shards, shards.map((s) => reply(s)));
});

test('a reply that does not say what it verified is refused: the manifest\'s own digest proves nothing', () => {
  assert.throws(() => verifyLabeledInputs([shard(1)], [reply(undefined)]),
    (e: unknown) => e instanceof FailedPreconditionError && /d\/unlabeled-1\.tfrecord was labeled by a labeler that did not report/.test(e.message));
});

test('a verified digest or record count other than the manifest\'s is refused, naming the shard', () => {
  assert.throws(() => verifyLabeledInputs([shard(1), shard(2)], [reply(shard(1)), reply({ ...shard(2), sha256: shard(1).sha256 })]),
    (e: unknown) => e instanceof FailedPreconditionError && /d\/unlabeled-2\.tfrecord changed since it was labeled/.test(e.message) && !e.message.includes('unlabeled-1.tfrecord'));
  assert.throws(() => verifyLabeledInputs([shard(1)], [reply({ ...shard(1), records: 100 })]), /100 records labeled, the manifest has 512/);
  assert.throws(() => verifyLabeledInputs([shard(1)], [reply(shard(2))]), /the reply for d\/unlabeled-1\.tfrecord names d\/unlabeled-2\.tfrecord/);
});

test('stats written before labelers verified their input (no record count) do not pass the pre-student check', () => {
  assert.deepEqual(verifiedInputProblems(shard(1), { sha256: shard(1).sha256, records: 512 }), []);
  assert.match(verifiedInputProblems(shard(1), { sha256: shard(1).sha256 })[0], /did not report the digest and record count it verified/);
});
