import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '@selftrain/compute';
import { InputError, OverloadedError } from '@selftrain/errors';
import { estimateTrainingMemory, modelFootprint, TrainingMemory, WASM_HEAP_LIMIT_BYTES } from './training-memory';
import { validateTeacherRequest } from './validate-requests';

const MiB = 2 ** 20;
const GRAY28 = { height: 28, width: 28, channels: 1 };
const options = (o: object) => validateTeacherRequest({ jobId: 'j', dataset: 'd', outputPrefix: 'o', options: o } as never).options;

test('the footprint is measured on the model (weights exact, an image\'s forward and backward), and wider models are scaled, not built', async () => {
  await initBackend({ prefer: 'wasm' });
  const small = await modelFootprint(options({ model: 'resnet-small', width: 1 }), GRAY28, 2, 'classification');
  // resnet-small at width 1 on 28x28: 175,570 weights; its layers' outputs alone are 1.4 MiB an image.
  assert.equal(small.weightBytes, 4 * 175_570);
  assert.ok(small.perImageBytes > 1.4 * MiB && small.perImageBytes < 8 * MiB, `${small.perImageBytes / MiB} MiB per image`);
  const wide = await modelFootprint(options({ model: 'resnet-small', width: 8 }), GRAY28, 2, 'classification');
  assert.equal(wide.perImageBytes, 8 * small.perImageBytes);
  assert.equal(wide.weightBytes, 64 * small.weightBytes, 'at most quadratic: the real model has 11,095,682 weights');
  assert.ok(wide.weightBytes >= 4 * 11_095_682);
});

test('the estimate: batch split over the threads on wasm classification, weights copied per heap', () => {
  const f = { weightBytes: 10 * MiB, perImageBytes: MiB };
  const o = options({ model: 'cnn-small', batchSize: 100 });
  const two = estimateTrainingMemory(f, o, 'classification', 'wasm', 2);
  assert.deepEqual([two.threads, two.imagesPerThread], [2, 50]);
  assert.equal(two.heapBytes, 4 * 10 * MiB + 50 * 1.5 * MiB);
  assert.equal(two.totalBytes, two.heapBytes + 3 * 10 * MiB + 50 * 1.5 * MiB);
  assert.equal(estimateTrainingMemory(f, o, 'detection', 'wasm', 2).threads, 1, 'dense tasks train on one thread');
  assert.equal(estimateTrainingMemory(f, { ...o, objective: 'simclr' }, 'classification', 'wasm', 2).imagesPerThread, 200, 'two views per image');
});

test('reserve: never-fits is INVALID_ARGUMENT naming batch_size and the largest batch that fits; width when nothing does; busy is RESOURCE_EXHAUSTED', () => {
  const f = { weightBytes: 10 * MiB, perImageBytes: MiB };
  const memory = new TrainingMemory({ budgetBytes: 1024 * MiB, budgetSource: 'TRAIN_MEMORY_BUDGET_MB', heapLimitBytes: WASM_HEAP_LIMIT_BYTES });
  let refused: unknown;
  try {
    memory.reserve(f, options({ model: 'cnn-small', batchSize: 4096 }), 'classification', 'wasm', 2);
  } catch (err) {
    refused = err;
  }
  assert.ok(refused instanceof InputError);
  assert.equal(refused.field, 'options.batch_size');
  assert.match(refused.message, /budget of 1\.0 GiB \(TRAIN_MEMORY_BUDGET_MB\); at most (\d+) fit/);
  const largest = Number(/at most (\d+) fit/.exec(refused.message)![1]);
  // The largest batch fits, one more does not.
  const held = memory.reserve(f, options({ model: 'cnn-small', batchSize: largest }), 'classification', 'wasm', 2);
  assert.ok(held.estimate.totalBytes <= 1024 * MiB);
  assert.ok(estimateTrainingMemory(f, options({ model: 'cnn-small', batchSize: largest + 1 }), 'classification', 'wasm', 2).totalBytes > 1024 * MiB);
  // While it runs, a second job that would fit alone waits its turn.
  assert.throws(() => memory.reserve(f, options({ model: 'cnn-small', batchSize: 64 }), 'classification', 'wasm', 2), OverloadedError);
  held.release();
  held.release();
  assert.deepEqual(memory.held(), { heapBytes: 0, totalBytes: 0 });
  memory.reserve(f, options({ model: 'cnn-small', batchSize: 64 }), 'classification', 'wasm', 2).release();
  assert.throws(() => memory.reserve({ weightBytes: 2 * 1024 * MiB, perImageBytes: MiB }, options({ model: 'cnn-small', batchSize: 2 }), 'classification', 'wasm', 1),
    (e: unknown) => e instanceof InputError && e.field === 'options.width' && /wasm's 4\.0 GiB heap limit; use a smaller width or model/.test(e.message));
});
