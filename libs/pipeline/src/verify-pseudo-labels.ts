import { FailedPreconditionError } from '@selftrain/errors';
import type { Artifact, Shard } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';

interface StoredStats { output: Shard; labelStats: { records: number | string }; input: { shard: string; sha256: string } }

const LISTED = 5;

function list(names: string[]): string {
  return names.slice(0, LISTED).join(', ') + (names.length > LISTED ? ` and ${names.length - LISTED} more` : '');
}

/**
 * The student's guard: every unlabeled shard of the manifest was labeled exactly once from its current
 * bytes, over all its records, and each pseudo-label shard is in the bucket with the digest recorded.
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
    if (s.input.sha256 !== u.sha256) problems.push(`${u.key} changed since it was labeled (sha256 ${s.input.sha256.slice(0, 12)} vs ${u.sha256.slice(0, 12)})`);
    if (Number(s.labelStats.records) !== u.records) problems.push(`${u.key}: ${s.labelStats.records} records labeled, the manifest has ${u.records}`);
    if (!listed.has(s.output.key)) problems.push(`the pseudo-label shard of ${u.key} (${s.output.key}) is not in the run record`);
    const st = await store.stat(s.output.key);
    if (!st) problems.push(`${s.output.key} (pseudo-labels of ${u.key}) is not in the bucket`);
    else if (st.sha256 && st.sha256 !== s.output.sha256) problems.push(`${s.output.key} does not match its recorded sha256`);
  }
  if (listed.size !== pseudoShards.length) problems.push('the run record lists a pseudo-label shard twice');
  if (problems.length) throw new FailedPreconditionError(`the pseudo-label set is incomplete: ${problems.slice(0, LISTED * 2).join('; ')}`);
}
