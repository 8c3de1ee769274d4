/**
 * Training / inference throughput of the default zoo model, wasm (with the project's kernels: native
 * OpenBLAS ones where they load, and the wasm-only ones) vs the pure-JS cpu backend, batch 64, one thread,
 * measured in one process. Part of `npm run bench`. Takes ~40 s.
 */
import { initBackend, registerWasmTrainingKernels, tf } from '@selftrain/compute';
import * as models from '@selftrain/models';

type ModelsLib = typeof models;

const BATCH = 64;
// The cpu backend trains at ~0.7 img/s: a batch-64 step alone would take ~90 s, so cpu training is
// timed on 2 steps of batch 8 (inference still at batch 64).
const CPU_TRAIN_BATCH = 8;

function sgdStep(model: tf.LayersModel, velocity: tf.Variable[], x: tf.Tensor, y: tf.Tensor): number {
  return tf.tidy(() => {
    const { value, grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor).mean() as tf.Scalar,
    );
    model.trainableWeights.forEach((w, i) => {
      const v = velocity[i];
      const g = grads[(w as unknown as { val: tf.Variable }).val.name];
      v.assign(v.mul(0.9).add(g));
      (w as unknown as { val: tf.Variable }).val.assign(w.read().sub(v.mul(0.01)));
    });
    return value.dataSync()[0];
  });
}

async function measure(
  backend: string, trainBatch: number, trainSteps: number, warmup: boolean, inferBatches: number, models: ModelsLib,
) {
  await tf.setBackend(backend);
  const model = models.buildModel({ name: 'cnn-small', inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  const x = tf.randomUniform([BATCH, 28, 28, 1]);
  const y = tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32') as tf.Tensor1D, 10);
  const xt = x.slice(0, trainBatch);
  const yt = y.slice(0, trainBatch);
  const velocity = model.trainableWeights.map((w) => tf.variable(tf.zerosLike(w.read()), false));
  if (warmup) sgdStep(model, velocity, xt, yt); // kernel setup, weight packing
  let t = performance.now();
  for (let i = 0; i < trainSteps; i++) sgdStep(model, velocity, xt, yt);
  const trainS = (performance.now() - t) / 1000;
  tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
  t = performance.now();
  for (let i = 0; i < inferBatches; i++) tf.tidy(() => tf.softmax(model.predict(x) as tf.Tensor).dataSync());
  const inferS = (performance.now() - t) / 1000;
  const result = {
    trainImgPerS: +((trainSteps * trainBatch) / trainS).toFixed(1),
    trainBatch,
    inferImgPerS: +((inferBatches * BATCH) / inferS).toFixed(1),
    trainSteps,
    inferBatches,
  };
  tf.dispose([x, y, xt, yt, ...velocity]);
  model.dispose();
  return result;
}

export async function benchTrainingSpeed() {
  const info = await initBackend({ prefer: 'wasm' });
  if (info.name !== 'wasm') throw new Error(`bench needs wasm, got ${info.name}`);
  const probe = models.buildModel({ name: 'cnn-small', inputShape: [28, 28, 1], numClasses: 10 });
  const model = { name: 'cnn-small', flopsPerImage: models.countFlops(probe), params: models.countParams(probe) };
  probe.dispose();
  const kernels = registerWasmTrainingKernels();
  const wasm = await measure('wasm', BATCH, 15, true, 20, models);
  let wasmOnly: Awaited<ReturnType<typeof measure>> | undefined;
  if (kernels.nativeUnavailable == null) {
    registerWasmTrainingKernels({ native: false });
    wasmOnly = await measure('wasm', BATCH, 15, true, 20, models);
    registerWasmTrainingKernels();
  }
  const cpu = await measure('cpu', CPU_TRAIN_BATCH, 2, false, 1, models);
  await tf.setBackend('wasm');
  return {
    batch: BATCH, model, wasm, wasmOnly, cpu,
    trainSpeedup: +(wasm.trainImgPerS / cpu.trainImgPerS).toFixed(1),
    nativeSpeedup: wasmOnly ? +(wasm.trainImgPerS / wasmOnly.trainImgPerS).toFixed(2) : undefined,
    kernels: kernels.description,
    nativeUnavailable: kernels.nativeUnavailable,
  };
}
