import { CurvePoint, type Artifact } from '@selftrain/proto';
import { readCheckpointMetadata, type ObjectStore } from '@selftrain/storage';
import type { TrainingState } from '@selftrain/train';

/** The loop's state beside the 'last' weights: JSON for the scalars, one binary object for the velocities. */
interface StoredState extends Omit<TrainingState, 'optimizer' | 'curve'> {
  curve: unknown[];
  /** Float counts per trainable weight, in order; -1 where there was no velocity yet. */
  optimizerLengths: number[];
}

// Keyed by step: the state of step N is written beside the committed checkpoint of an earlier step, never
// over its state, so a process killed while saving step N still resumes from the step before it.
const STATE_FILE = /\/(train-state-\d+\.json|optimizer-\d+\.bin)$/;
const stateKey = (dir: string, step: number) => `${dir}/train-state-${step}.json`;
const optimizerKey = (dir: string, step: number) => `${dir}/optimizer-${step}.bin`;

/**
 * Written before the weights' model.json, which commits the checkpoint: its metadata's step names the
 * state that goes with it. Once it is committed, `pruneTrainingStates` drops the other steps' states.
 */
export async function saveTrainingState(store: ObjectStore, dir: string, state: TrainingState): Promise<void> {
  const lengths = state.optimizer.map((v) => (v ? v.length : -1));
  const total = lengths.reduce((n, l) => n + Math.max(0, l), 0);
  const bytes = Buffer.alloc(total * 4);
  let offset = 0;
  for (const v of state.optimizer) {
    if (!v) continue;
    Buffer.from(v.buffer, v.byteOffset, v.byteLength).copy(bytes, offset);
    offset += v.byteLength;
  }
  await store.put(optimizerKey(dir, state.step), bytes, 'application/octet-stream');
  const { optimizer: _o, curve, ...rest } = state;
  const stored: StoredState = { ...rest, curve: curve.map((c) => CurvePoint.toJSON(c)), optimizerLengths: lengths };
  await store.putJson(stateKey(dir, state.step), stored);
}

/**
 * After the checkpoint of `step` is committed, the states of other steps in `dir` are stale. `previous`
 * is the step this process committed before, whose files are deleted by key; without one (the first save
 * of a process, which may follow a crash mid-save) the directory is listed.
 */
export async function pruneTrainingStates(store: ObjectStore, dir: string, step: number, previous?: number): Promise<void> {
  const stale = previous === undefined
    ? (await store.list(`${dir}/`)).filter((key) => STATE_FILE.test(key))
    : [stateKey(dir, previous), optimizerKey(dir, previous)];
  const keep = new Set([stateKey(dir, step), optimizerKey(dir, step)]);
  for (const key of stale) if (!keep.has(key)) await store.delete(key);
}

/**
 * The state to resume job `jobId` from, when its 'last' checkpoint is complete and consistent: the
 * weights' metadata names the job and the same step as the saved state. Anything else: start afresh.
 */
export async function loadResumeState(
  store: ObjectStore, outputPrefix: string, jobId: string,
): Promise<{ state: TrainingState; checkpoint: string } | undefined> {
  const dir = `${outputPrefix}/checkpoints/last`;
  const checkpoint = `${dir}/model.json`;
  if (!(await store.exists(checkpoint))) return undefined;
  const meta = await readCheckpointMetadata(store, checkpoint);
  const step = meta?.step;
  if (meta?.jobId !== jobId || typeof step !== 'number' || !(await store.exists(stateKey(dir, step)))) return undefined;
  const stored = await store.getJson<StoredState>(stateKey(dir, step));
  if (stored.step !== step) return undefined;
  const bytes = await store.get(optimizerKey(dir, step));
  const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  let offset = 0;
  const optimizer = stored.optimizerLengths.map((l) => {
    if (l < 0) return null;
    const v = floats.slice(offset, offset + l);
    offset += l;
    return v;
  });
  if (offset !== floats.length) return undefined;
  const { optimizerLengths: _l, curve, ...rest } = stored;
  const state: TrainingState = { ...rest, curve: curve.map((c) => CurvePoint.fromJSON(c)), optimizer };
  // A better 'best' may have been written after this state (between the last checkpoint and the crash):
  // the bucket's copy is the truth, so the result names what is really there.
  if (state.best) {
    const st = await store.stat(state.best.key);
    const bestMeta = st ? await readCheckpointMetadata(store, state.best.key) : undefined;
    if (!st || typeof bestMeta?.valTop1 !== 'number') state.best = undefined;
    else if (st.sha256 !== state.best.sha256) {
      state.best = { key: st.key, sha256: st.sha256, sizeBytes: st.sizeBytes } as Artifact;
      state.bestTop1 = bestMeta.valTop1;
    }
  }
  return { state, checkpoint };
}
