import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '@selftrain/compute';
import { buildRetinaNet, retinaNetAnchors } from '@selftrain/models';
import type { Artifact } from '@selftrain/proto';
import type { TrainingState } from './training-loop';
import { retinaNetDetector } from './dense-predictors';
import { validationRecords } from './dense-training';
import { evaluateDetector } from './score-detections';
import { trainDetector } from './train-detector';
import { TEACHER_DEFAULTS, type ResolvedTrainOptions } from './train-options';
import { denseScenes } from './testing/dense-scenes';

const size = 64;
const shape = { height: size, width: size, channels: 1 };
const spec = { inputShape: [size, size, 1] as [number, number, number], numClasses: 2, width: 0.25, fpnChannels: 16 };
const options = (o: Partial<ResolvedTrainOptions>): ResolvedTrainOptions => ({
  ...TEACHER_DEFAULTS, batchSize: 8, learningRate: 0.01, weightDecay: 1e-4, warmupSteps: 5, augment: 'none', dropout: 0, ...o,
});
const artifact = (kind: string, step: number): Artifact => ({ key: `${kind}/${step}/model.json`, sha256: String(step), sizeBytes: 1 } as Artifact);

before(async () => {
  await initBackend({ purpose: 'train' });
});

test('trainDetector: the loss falls, COCO AP on the validation scenes rises, best and last are saved, no tensor leaks', async (t) => {
  const model = buildRetinaNet({ ...spec, seed: 1 });
  const anchors = retinaNetAnchors(spec);
  const labeled = denseScenes(32, size, 1);
  const validation = denseScenes(12, size, 2);
  const score = async () => (await evaluateDetector(validationRecords(validation, shape), retinaNetDetector(model, anchors), { numClasses: 3 })).evaluation;
  const before = await score();
  const saved: string[] = [];
  const tensorsBefore = tf.memory().numTensors;
  const started = Date.now();
  const result = await trainDetector({
    model, shape, anchors, numClasses: 2, labeled, validation, backend: 'wasm',
    options: options({ maxSteps: 120, evalEvery: 40, checkpointEvery: 60, augment: 's1' }),
    saveCheckpoint: async (kind, step, _meta, state) => { saved.push(`${kind}@${step}${state ? '+state' : ''}`); return artifact(kind, step); },
  });
  const seconds = (Date.now() - started) / 1000;
  assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensor leaked (velocities disposed)');
  const after = await score();
  const [first, , third] = result.curve;
  t.diagnostic(`AP ${before.ap.toFixed(3)} -> ${after.ap.toFixed(3)} (AP50 ${before.ap50.toFixed(3)} -> ${after.ap50.toFixed(3)}); `
    + `curve AP ${result.curve.map((p) => p.valTop1.toFixed(3)).join(' ')}; loss ${result.curve.map((p) => p.loss.toFixed(3)).join(' ')}; `
    + `${result.imagesPerSecond.toFixed(1)} img/s, ${seconds.toFixed(1)} s`);
  assert.equal(result.steps, 120);
  assert.equal(result.curve.length, 3);
  assert.ok(third.loss < first.loss * 0.6, `loss ${first.loss} -> ${third.loss}`);
  assert.ok(after.ap50 > before.ap50 + 0.4, `AP50 ${before.ap50} -> ${after.ap50}`);
  assert.ok(result.bestValTop1 > before.ap && result.bestValTop1 > 0.2, `best AP ${result.bestValTop1} (before ${before.ap})`);
  assert.ok(third.valTop1 > first.valTop1, `AP rises along the curve: ${result.curve.map((p) => p.valTop1).join(', ')}`);
  assert.ok(saved.includes('last@60+state') && saved.includes('last@120+state'), saved.join());
  assert.ok(saved.some((s) => s.startsWith('best@')), saved.join());
  assert.equal(result.lastCheckpoint?.key, 'last/120/model.json');
  model.dispose();
});

test('trainDetector as student: the sampler gives half of each batch, both running losses are reported', async () => {
  const model = buildRetinaNet({ ...spec, seed: 2 });
  const anchors = retinaNetAnchors(spec);
  // Pseudo-labeled scenes, every third without any box (the teacher kept nothing): all background.
  const pool = denseScenes(24, size, 3, { emptyEvery: 3 });
  const asked: number[] = [];
  let last = { humanLoss: 0, pseudoLoss: 0 };
  await trainDetector({
    model, shape, anchors, numClasses: 2, labeled: denseScenes(8, size, 4), validation: denseScenes(4, size, 5), backend: 'wasm',
    options: options({ maxSteps: 10, evalEvery: 10, checkpointEvery: 100, augment: 's1' }),
    pseudo: { sampler: { sample: async (n) => { asked.push(n); return pool.slice(asked.length % 3, asked.length % 3 + n); } }, fraction: 0.5, alpha: 1, normalizeLoss: true },
    saveCheckpoint: async (kind, step) => artifact(kind, step),
    onProgress: (p) => { last = p; },
  });
  assert.equal(asked.length, 10);
  assert.ok(asked.every((n) => n === 4), `half of each batch of 8 is pseudo-labeled: asked ${asked.join()}`);
  assert.ok(last.humanLoss > 0 && last.pseudoLoss > 0, `running losses ${last.humanLoss} ${last.pseudoLoss}`);
  model.dispose();
});

test('trainDetector: cancellation saves a last checkpoint with state and stops; a resumed run continues from its step', async () => {
  const model = buildRetinaNet({ ...spec, seed: 3 });
  const anchors = retinaNetAnchors(spec);
  const labeled = denseScenes(8, size, 6);
  const validation = denseScenes(4, size, 7);
  const controller = new AbortController();
  const saved: { kind: string; step: number; meta: Record<string, unknown>; state?: TrainingState }[] = [];
  const save = async (kind: 'best' | 'last', step: number, meta: Record<string, unknown>, state?: TrainingState) => {
    saved.push({ kind, step, meta, state });
    return artifact(kind, step);
  };
  await assert.rejects(trainDetector({
    model, shape, anchors, numClasses: 2, labeled, validation, backend: 'wasm',
    options: options({ maxSteps: 30, evalEvery: 5, checkpointEvery: 100 }), saveCheckpoint: save,
    onProgress: (p) => { if (p.step >= 10) controller.abort(new Error('stop')); },
    signal: controller.signal,
  }), /stop/);
  const interrupted = saved.filter((s) => s.kind === 'last');
  assert.equal(interrupted.length, 1);
  assert.equal(interrupted[0].step, 10);
  assert.equal(interrupted[0].meta.interrupted, true);
  const state = interrupted[0].state!;
  assert.equal(state.step, 10);
  assert.equal(state.curve.length, 2, 'evaluations at 5 and 10');
  assert.ok(state.optimizer.length > 0 && state.optimizer.some((v) => v !== null), 'momentum velocities ride along');

  saved.length = 0;
  const steps: number[] = [];
  const result = await trainDetector({
    model, shape, anchors, numClasses: 2, labeled, validation, backend: 'wasm', resume: state,
    options: options({ maxSteps: 20, evalEvery: 5, checkpointEvery: 100 }), saveCheckpoint: save,
    onProgress: (p) => steps.push(p.step),
  });
  assert.equal(result.resumedFromStep, 10);
  assert.equal(result.steps, 20);
  assert.deepEqual(steps, [15, 20], 'the resumed run reports from step 11 on');
  assert.deepEqual(result.curve.map((p) => p.step), [5, 10, 15, 20], 'the curve continues the interrupted one');
  assert.ok(saved.every((s) => s.step > 10), saved.map((s) => `${s.kind}@${s.step}`).join());
  assert.equal(saved.at(-1)?.kind, 'last');
  model.dispose();
});
