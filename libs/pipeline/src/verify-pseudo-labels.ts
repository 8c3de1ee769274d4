import { FailedPreconditionError } from '@selftrain/errors';
import type { Artifact, LabelShardResponse, Shard } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';

/** The stats object's `input` is what the labeler verified: the sha256 of the bytes it read, the records it decoded. */
interface StoredStats { output: Shard; labelStats: { records: number | string }; input: { shard: string; sha256: string; records?: number } }

const LISTED = 5;

function list(names: string[]): string {
  return names.slice(0, LISTED).join(', ') + (names.length > LISTED ? ` and ${names.length - LISTED} more` : '');
}

/**
 * What is wrong with a shard as a labeler verified it (the digest of the bytes it read, the records it
 * decoded), against the manifest's listing of it; empty when they agree. A labeler that does not say
 * what it verified is a problem too: the manifest's own figures prove nothing about the bytes.
 */
export function verifiedInputProblems(u: Shard, verified: { sha256?: string; records?: number | string } | undefined): string[] {
  if (verified?.sha256 === undefined || verified.sha256 === '' || verified.records === undefined) {
    return [`${u.key} was labeled by a labeler that did not report the digest and record count it verified`];
  }
  const problems: string[] = [];
  if (verified.sha256 !== u.sha256) problems.push(`${u.key} changed since it was labeled (sha256 ${verified.sha256.slice(0, 12)} vs ${u.sha256.slice(0, 12)})`);
  if (Number(verified.records) !== u.records) problems.push(`${u.key}: ${verified.records} records labeled, the manifest has ${u.records}`);
  return problems;
}

/**
 * The labeling stage's check on the labelers' replies: each shard was labeled from the bytes the manifest
 * lists, as the labeler verified them. Throws FAILED_PRECONDITION naming the shards that were not.
 */
export function verifyLabeledInputs(unlabeled: Shard[], replies: LabelShardResponse[]): void {
  const problems = unlabeled.flatMap((u, i) => {
    const input = replies[i]?.input;
    if (input && input.key !== u.key) return [`the reply for ${u.key} names ${input.key}`];
    return verifiedInputProblems(u, input);
  });
  if (problems.length) throw new FailedPreconditionError(`the labelers did not label what the manifest lists: ${list(problems)}`);
}

/**
 * The student's guard: every unlabeled shard of the manifest was labeled exactly once from its current
 * bytes (as the labeler verified them, recorded in each stats object), over all its records, and each pseudo-label shard is in the bucket with the digest recorded.
 * Throws FAILED_PRECONDITION naming what is missing or wrong, before any training starts.
 */
export async function verifyPseudoLabelSet(store: ObjectStore, unlabeled: Shard[], statsArtifacts: Artifact[], pseudoShards: Shard[]): Promise<void> {
  const problems: string[] = [];
  const byInput = new Map<string, StoredStats>();
  for (const a of statsArtifacts) {
    const stored = await store.getJson<StoredStats>(a.key).catch(() => undefined);
    if (!stored?.input?.shard) { problems.push(`stats ${a.key} is missing or unreadable`); continue; }
    if (byInput.has(stored.input.shard)) problems.push(`${stored.input.shard} was labeled twice`);
    byInput.set(stored.input.shard, stored);
  }
  const missing = unlabeled.filter((u) => !byInput.has(u.key)).map((u) => u.key);
  if (missing.length) problems.push(`${missing.length} unlabeled shard(s) have no pseudo-labels: ${list(missing)}`);
  const listed = new Map(pseudoShards.map((s) => [s.key, s]));
  for (const u of unlabeled) {
    const s = byInput.get(u.key);
    if (!s) continue;
    problems.push(...verifiedInputProblems(u, s.input));
    if (Number(s.labelStats.records) !== u.records) problems.push(`${u.key}: ${s.labelStats.records} records in its label statistics, the manifest has ${u.records}`);
    if (!listed.has(s.output.key)) problems.push(`the pseudo-label shard of ${u.key} (${s.output.key}) is not in the run record`);
    const st = await store.stat(s.output.key);
    if (!st) problems.push(`${s.output.key} (pseudo-labels of ${u.key}) is not in the bucket`);
    else if (st.sha256 && st.sha256 !== s.output.sha256) problems.push(`${s.output.key} does not match its recorded sha256`);
  }
  if (listed.size !== pseudoShards.length) problems.push('the run record lists a pseudo-label shard twice');
  if (problems.length) throw new FailedPreconditionError(`the pseudo-label set is incomplete: ${problems.slice(0, LISTED * 2).join('; ')}`);
}
