import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '@selftrain/compute';
import { buildSegmenter } from '@selftrain/models';
import type { Artifact } from '@selftrain/proto';
import type { DenseExample } from './dense-batch';
import type { TrainingState } from './training-loop';
import { segmentationPredictor } from './dense-predictors';
import { validationRecords } from './dense-training';
import { evaluateSegmenter } from './score-segmentation';
import { trainSegmenter } from './train-segmenter';
import { TEACHER_DEFAULTS, type ResolvedTrainOptions } from './train-options';
import { denseScenes } from './testing/dense-scenes';

const size = 64;
const shape = { height: size, width: size, channels: 1 };
const spec = { inputShape: [size, size, 1] as [number, number, number], numClasses: 3, width: 0.25, fpnChannels: 16 };
const options = (o: Partial<ResolvedTrainOptions>): ResolvedTrainOptions => ({
  ...TEACHER_DEFAULTS, batchSize: 8, learningRate: 0.1, weightDecay: 1e-4, warmupSteps: 5, augment: 'none', dropout: 0, ...o,
});
const artifact = (kind: string, step: number): Artifact => ({ key: `${kind}/${step}/model.json`, sha256: String(step), sizeBytes: 1 } as Artifact);

/** A teacher's pseudo mask: the true one, with the pixels next to a class boundary (where it is unsure) at 255. */
function pseudoMasked(examples: DenseExample[]): DenseExample[] {
  return examples.map((ex) => {
    const m = ex.mask!;
    const mask = m.slice();
    for (let y = 1; y < size - 1; y++) {
      for (let x = 1; x < size - 1; x++) {
        const i = y * size + x;
        if (m[i - 1] !== m[i] || m[i + 1] !== m[i] || m[i - size] !== m[i] || m[i + size] !== m[i]) mask[i] = 255;
      }
    }
    return { image: ex.image, mask };
  });
}

before(async () => {
  await initBackend({ purpose: 'train' });
});

test('trainSegmenter: the loss falls, validation mIoU rises well above its start, best and last are saved, no tensor leaks', async (t) => {
  const model = buildSegmenter({ ...spec, seed: 1 });
  const labeled = denseScenes(32, size, 1);
  const validation = denseScenes(12, size, 2);
  const score = async () => (await evaluateSegmenter(validationRecords(validation, shape), segmentationPredictor(model), { numClasses: 3 })).evaluation;
  const start = await score();
  const saved: string[] = [];
  const tensorsBefore = tf.memory().numTensors;
  const started = Date.now();
  const result = await trainSegmenter({
    model, shape, numClasses: 3, labeled, validation, backend: 'wasm',
    options: options({ maxSteps: 120, evalEvery: 40, checkpointEvery: 60, augment: 's1' }),
    saveCheckpoint: async (kind, step, _meta, state) => { saved.push(`${kind}@${step}${state ? '+state' : ''}`); return artifact(kind, step); },
  });
  const seconds = (Date.now() - started) / 1000;
  assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensor leaked (velocities disposed)');
  const end = await score();
  const [first, , third] = result.curve;
  t.diagnostic(`mIoU ${start.meanIou.toFixed(3)} -> ${end.meanIou.toFixed(3)} (per class ${end.perClass.map((c) => c.iou?.toFixed(2)).join(' ')}); `
    + `curve mIoU ${result.curve.map((p) => p.valTop1.toFixed(3)).join(' ')}; loss ${result.curve.map((p) => p.loss.toFixed(3)).join(' ')}; `
    + `${result.imagesPerSecond.toFixed(1)} img/s, ${seconds.toFixed(1)} s`);
  assert.equal(result.steps, 120);
  assert.equal(result.curve.length, 3);
  assert.ok(third.loss < first.loss * 0.5, `loss ${first.loss} -> ${third.loss}`);
  assert.ok(end.meanIou > start.meanIou + 0.5 && end.meanIou > 0.75, `mIoU ${start.meanIou} -> ${end.meanIou}`);
  assert.ok(Math.abs(result.bestValTop1 - Math.max(...result.curve.map((p) => p.valTop1))) < 1e-12, 'bestValTop1 is the best mIoU');
  assert.ok(saved.includes('last@60+state') && saved.includes('last@120+state'), saved.join());
  assert.ok(saved.some((s) => s.startsWith('best@')), saved.join());
  model.dispose();
});

test('trainSegmenter as student: the sampler gives half of each batch (masks with 255), both running losses are reported', async () => {
  const model = buildSegmenter({ ...spec, seed: 2 });
  const pool = pseudoMasked(denseScenes(24, size, 3));
  assert.ok(pool[0].mask!.includes(255));
  const asked: number[] = [];
  let last = { humanLoss: 0, pseudoLoss: 0 };
  await trainSegmenter({
    model, shape, numClasses: 3, labeled: denseScenes(8, size, 4), validation: denseScenes(4, size, 5), backend: 'wasm',
    options: options({ maxSteps: 10, evalEvery: 10, checkpointEvery: 100, augment: 's1' }),
    pseudo: { sampler: { sample: async (n) => { asked.push(n); return pool.slice(asked.length % 4, asked.length % 4 + n); } }, fraction: 0.5, alpha: 1, normalizeLoss: true },
    saveCheckpoint: async (kind, step) => artifact(kind, step),
    onProgress: (p) => { last = p; },
  });
  assert.equal(asked.length, 10);
  assert.ok(asked.every((n) => n === 4), `half of each batch of 8 is pseudo-labeled: asked ${asked.join()}`);
  assert.ok(last.humanLoss > 0 && last.pseudoLoss > 0, `running losses ${last.humanLoss} ${last.pseudoLoss}`);
  model.dispose();
});

test('trainSegmenter: cancellation saves a last checkpoint with state and stops; a resumed run continues from its step', async () => {
  const model = buildSegmenter({ ...spec, seed: 3 });
  const labeled = denseScenes(8, size, 6);
  const validation = denseScenes(4, size, 7);
  const controller = new AbortController();
  const saved: { kind: string; step: number; meta: Record<string, unknown>; state?: TrainingState }[] = [];
  const save = async (kind: 'best' | 'last', step: number, meta: Record<string, unknown>, state?: TrainingState) => {
    saved.push({ kind, step, meta, state });
    return artifact(kind, step);
  };
  await assert.rejects(trainSegmenter({
    model, shape, numClasses: 3, labeled, validation, backend: 'wasm',
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
  assert.equal(state.curve.length, 2);
  assert.ok(state.optimizer.some((v) => v !== null), 'momentum velocities ride along');

  saved.length = 0;
  const steps: number[] = [];
  const result = await trainSegmenter({
    model, shape, numClasses: 3, labeled, validation, backend: 'wasm', resume: state,
    options: options({ maxSteps: 20, evalEvery: 5, checkpointEvery: 100 }), saveCheckpoint: save,
    onProgress: (p) => steps.push(p.step),
  });
  assert.equal(result.resumedFromStep, 10);
  assert.equal(result.steps, 20);
  assert.deepEqual(steps, [15, 20]);
  assert.deepEqual(result.curve.map((p) => p.step), [5, 10, 15, 20]);
  assert.ok(saved.every((s) => s.step > 10), saved.map((s) => `${s.kind}@${s.step}`).join());
  model.dispose();
});
