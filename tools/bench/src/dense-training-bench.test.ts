import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '@selftrain/compute';
import { benchDenseTraining } from './dense-training-bench';

before(async () => {
  delete process.env.SELFTRAIN_BACKEND;
  assert.equal((await initBackend({ purpose: 'train' })).name, 'wasm');
});

test('training speed on wasm: detector and segmenter step at 96x96, batch 16', (t) => {
  const speeds = benchDenseTraining({ size: 96, batchSize: 16, steps: 2 });
  for (const s of speeds) {
    t.diagnostic(`${s.model} train ${s.imagesPerSecond.toFixed(1)} img/s (${s.stepMs.toFixed(0)} ms/step, ${s.backend}, ${s.size}x${s.size}, batch ${s.batchSize})`);
    assert.ok(s.imagesPerSecond > 0);
  }
  assert.deepEqual(speeds.map((s) => s.model), ['retinanet', 'segmenter']);
});
