import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '@selftrain/compute';
import { buildModel } from '@selftrain/models';
import type { Artifact } from '@selftrain/proto';
import type { Example } from './batch';
import { trainClassifier } from './train-classifier';
import { TEACHER_DEFAULTS } from './train-options';

const shape = { height: 8, width: 8, channels: 1 };

/** Two classes that a CNN separates easily: a bright top half or a bright bottom half, with noise. */
function examples(n: number, seed: number): Example[] {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  return Array.from({ length: n }, (_, i) => {
    const label = i % 2;
    const image = new Uint8Array(64);
    for (let p = 0; p < 64; p++) image[p] = (p < 32) === (label === 0) ? 200 + rand() * 55 : rand() * 60;
    return { image, label };
  });
}

before(async () => {
  await initBackend({ purpose: 'train' });
});

test('the teacher loop learns, checkpoints best and last, and leaks no tensors', async () => {
  const model = buildModel({ name: 'cnn-small', inputShape: [8, 8, 1], numClasses: 2, width: 0.25, seed: 3 });
  const saved: string[] = [];
  const tensorsBefore = tf.memory().numTensors;
  const result = await trainClassifier({
    model, shape, numClasses: 2, labeled: examples(64, 1), validation: examples(32, 2), backend: 'wasm',
    options: { ...TEACHER_DEFAULTS, maxSteps: 60, evalEvery: 20, checkpointEvery: 30, batchSize: 16, warmupSteps: 5, augment: 'none', learningRate: 0.05 },
    saveCheckpoint: async (kind, step) => { saved.push(`${kind}@${step}`); return { key: `${kind}/model.json`, sha256: String(step), sizeBytes: 1 } as Artifact; },
  });
  assert.equal(result.steps, 60);
  assert.ok(result.bestValTop1 >= 0.9, `val top-1 ${result.bestValTop1}`);
  assert.ok(saved.includes('last@30') && saved.includes('last@60'), saved.join());
  assert.ok(saved.some((s) => s.startsWith('best@')));
  assert.equal(result.curve.length, 3);
  assert.ok(result.curve[2].loss < 0.69, `loss ${result.curve[2].loss} fell below chance`);
  assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensor leaked');
  model.dispose();
});

test('the student loop mixes human and pseudo batches and reports both running losses', async () => {
  const model = buildModel({ name: 'cnn-small', inputShape: [8, 8, 1], numClasses: 2, width: 0.25, seed: 4 });
  const pool = examples(200, 5).map((e) => ({ ...e, probabilities: Float32Array.from(e.label ? [0.1, 0.9] : [0.9, 0.1]) }));
  const asked: number[] = [];
  let humanLoss = 0;
  let pseudoLoss = 0;
  await trainClassifier({
    model, shape, numClasses: 2, labeled: examples(16, 6), validation: examples(16, 7), backend: 'wasm',
    options: { ...TEACHER_DEFAULTS, maxSteps: 20, evalEvery: 10, checkpointEvery: 100, batchSize: 16, augment: 's1' },
    pseudo: { sampler: { sample: async (n) => { asked.push(n); return pool.slice(0, n); } }, fraction: 0.5, alpha: 1, normalizeLoss: true },
    saveCheckpoint: async () => ({ key: 'k', sha256: 's', sizeBytes: 1 }),
    onProgress: (p) => { humanLoss = p.humanLoss; pseudoLoss = p.pseudoLoss; },
  });
  assert.ok(asked.every((n) => n === 8), 'half of each batch is pseudo-labeled');
  assert.ok(humanLoss > 0 && pseudoLoss > 0, `running losses ${humanLoss} ${pseudoLoss}`);
  model.dispose();
});

test('cancellation checkpoints and stops', async () => {
  const model = buildModel({ name: 'cnn-small', inputShape: [8, 8, 1], numClasses: 2, width: 0.25, seed: 5 });
  const controller = new AbortController();
  const saved: string[] = [];
  await assert.rejects(trainClassifier({
    model, shape, numClasses: 2, labeled: examples(16, 8), validation: examples(8, 9), backend: 'wasm',
    options: { ...TEACHER_DEFAULTS, maxSteps: 1000, evalEvery: 1000, batchSize: 8, augment: 'none' },
    saveCheckpoint: async (kind, step) => { saved.push(`${kind}@${step}`); return { key: 'k', sha256: 's', sizeBytes: 1 }; },
    onProgress: (p) => { if (p.step >= 10) controller.abort(new Error('stop')); },
    signal: controller.signal,
  }), /stop/);
  assert.equal(saved.length, 1);
  assert.match(saved[0], /^last@1\d$/);
  model.dispose();
});

test('joint training: the auxiliary task trains through its own head on the shared encoder, which checkpoints leave out', async () => {
  const model = buildModel({ name: 'cnn-small', inputShape: [8, 8, 1], numClasses: 2, width: 0.25, seed: 6 });
  const weightsBefore = model.getWeights().length;
  // The auxiliary task: a bright left half against a bright right half (the main task is top/bottom).
  const auxiliary = examples(64, 11).map((e) => {
    const image = new Uint8Array(64);
    for (let p = 0; p < 64; p++) image[p] = e.image[(p % 8) * 8 + Math.floor(p / 8)];
    return { image, label: e.label };
  });
  const logged: { auxiliaryLoss?: number }[] = [];
  const logger = { info: (o: { auxiliaryLoss?: number }) => logged.push(o), warn: () => undefined } as never;
  const tensorsBefore = tf.memory().numTensors;
  const result = await trainClassifier({
    model, shape, numClasses: 2, labeled: examples(32, 12), validation: examples(32, 13), backend: 'wasm', logger,
    // Learning rate 0.02: at the default 0.05 this tiny net diverged on the auxiliary task in about 1 run
    // in 5 (dropout's masks are not seeded, so runs differ); at 0.02, 10 of 10 ended near 0.04.
    options: { ...TEACHER_DEFAULTS, maxSteps: 60, evalEvery: 20, checkpointEvery: 100, batchSize: 16, warmupSteps: 5, augment: 'none', learningRate: 0.02 },
    auxiliary: { examples: auxiliary, numClasses: 2, weight: 1 },
    saveCheckpoint: async () => ({ key: 'k', sha256: 's', sizeBytes: 1 }),
  });
  const auxLosses = logged.map((o) => o.auxiliaryLoss).filter((x): x is number => x !== undefined);
  assert.equal(auxLosses.length, 3, 'the auxiliary loss is logged at each evaluation');
  assert.ok(auxLosses[2] < 0.4, `auxiliary loss ${auxLosses[2]} is far below chance (0.69): the head and encoder learn it`);
  assert.ok(result.bestValTop1 >= 0.9, `the task itself still learns: val top-1 ${result.bestValTop1}`);
  assert.equal(model.getWeights().length, weightsBefore, 'the auxiliary head is not part of the model');
  assert.throws(() => model.getLayer('auxiliary_logits'));
  assert.equal(tf.memory().numTensors, tensorsBefore, 'the head and its velocities are disposed');
  model.dispose();
});
