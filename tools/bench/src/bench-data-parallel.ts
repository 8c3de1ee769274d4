/**
 * The student's training loop (trainClassifier: default student model and batch, Augment-S2, half
 * pseudo-labeled batches, loss normalization) on 1 thread and on one thread per core (the services' default)
 * both ways: gradient replicas (how a training job uses them) and native threads inside each step (the
 * alternative ADR 0012 measured and did not adopt), in one process. Part of `npm run bench`. Takes ~60 s.
 */
import { availableParallelism } from 'node:os';
import { initBackend, withNativeThreads } from '@selftrain/compute';
import { buildModel } from '@selftrain/models';
import type { Artifact } from '@selftrain/proto';
import { trainClassifier, type Example } from '@selftrain/train';
import { STUDENT_DEFAULTS } from '@selftrain/trainer';

const STEPS = 40;

function randomExamples(n: number, seed: number): Example[] {
  let s = seed;
  const byte = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) >> 23) & 255;
  return Array.from({ length: n }, (_, i) => ({ image: Uint8Array.from({ length: 784 }, byte), label: i % 10 }));
}

/** `threads` cores as gradient replicas (`replicas`), or as native threads inside one step. */
async function studentImagesPerSecond(threads: number, how: 'replicas' | 'native-threads' = 'replicas'): Promise<number> {
  if (how === 'native-threads') return withNativeThreads(threads, () => studentImagesPerSecond(1));
  const o = { ...STUDENT_DEFAULTS, maxSteps: STEPS, evalEvery: 10 * STEPS, checkpointEvery: 10 * STEPS };
  const model = buildModel({ name: 'cnn-small', inputShape: [28, 28, 1], numClasses: 10, width: o.width, dropout: o.dropout, seed: 1 });
  const pool = randomExamples(1024, 2);
  try {
    const result = await trainClassifier({
      model, shape: { height: 28, width: 28, channels: 1 }, numClasses: 10, labeled: randomExamples(1000, 1), validation: randomExamples(64, 3),
      options: o, backend: 'wasm', threads,
      pseudo: { sampler: { sample: async (n) => pool.slice(0, n) }, fraction: 0.5, alpha: 1, normalizeLoss: true },
      saveCheckpoint: async () => ({ key: '', sha256: '', sizeBytes: 0 }) as Artifact,
    });
    return result.imagesPerSecond;
  } finally {
    model.dispose();
  }
}

export async function benchDataParallel() {
  const info = await initBackend({ prefer: 'wasm' });
  if (info.name !== 'wasm') throw new Error(`bench needs wasm, got ${info.name}`);
  const threads = Math.max(2, availableParallelism());
  await studentImagesPerSecond(1); // warm-up: kernel setup
  const one = await studentImagesPerSecond(1);
  const native = await studentImagesPerSecond(threads, 'native-threads');
  const replicas = await studentImagesPerSecond(threads, 'replicas');
  return {
    model: `cnn-small width ${STUDENT_DEFAULTS.width}, batch ${STUDENT_DEFAULTS.batchSize}, ${STUDENT_DEFAULTS.augment}`, steps: STEPS,
    imgPerS: { '1 thread': +one.toFixed(1), [`${threads} native threads`]: +native.toFixed(1), [`${threads} gradient replicas`]: +replicas.toFixed(1) },
    speedup: +(replicas / one).toFixed(2), nativeSpeedup: +(native / one).toFixed(2),
  };
}
