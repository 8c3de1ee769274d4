import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '@selftrain/compute';
import { buildModel } from '@selftrain/models';
import { MemoryObjectStore } from '@selftrain/storage';
import type { TrainingState } from '@selftrain/train';
import { checkpointSaver } from './model-checkpoints';
import { loadResumeState, saveTrainingState } from './training-state-store';

const SHAPE = { height: 28, width: 28, channels: 1 };
const JOB = 'job-1';
const PREFIX = 'runs/r/gen0/teacher';

function stateAt(step: number): TrainingState {
  return {
    step, lossAvg: 1 / step, bestTop1: 0, sinceBest: 0, imagesSeen: step * 16, curve: [],
    normalizer: { humanAvg: 0, pseudoAvg: 0, seen: 0 }, optimizer: [new Float32Array([step, step + 1]), null],
  };
}

test('a process killed while saving the next "last" checkpoint resumes from the one before, not from step 0', async () => {
  await initBackend({ purpose: 'train' });
  const store = new MemoryObjectStore();
  const model = buildModel({ name: 'cnn-small', inputShape: [28, 28, 1], numClasses: 10, width: 0.25, seed: 1 });
  try {
    const save = checkpointSaver(store, model, PREFIX, SHAPE, { jobId: JOB });
    await save('last', 20, {}, stateAt(20));
    await save('last', 40, {}, stateAt(40));
    const dir = `${PREFIX}/checkpoints/last`;
    // A committed checkpoint leaves exactly its own state beside it.
    assert.deepEqual((await store.list(`${dir}/`)).filter((k) => /state|optimizer/.test(k)).sort(), [`${dir}/optimizer-40.bin`, `${dir}/train-state-40.json`]);

    // Killed after the state of step 60 was written, before its weights' model.json committed it.
    await saveTrainingState(store, dir, stateAt(60));
    const resumed = await loadResumeState(store, PREFIX, JOB);
    assert.equal(resumed?.state.step, 40);
    assert.deepEqual(resumed?.state.optimizer.map((v) => (v ? [...v] : null)), [[40, 41], null]);
    assert.equal(resumed?.checkpoint, `${dir}/model.json`);

    // Another job's checkpoint under the same prefix is never resumed.
    assert.equal(await loadResumeState(store, PREFIX, 'job-2'), undefined);
  } finally {
    model.dispose();
  }
});
