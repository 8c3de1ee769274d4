import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '@selftrain/compute';
import { buildModel } from '@selftrain/models';
import type { Artifact } from '@selftrain/proto';
import { imagesToTensor, targetsToTensor, type Example } from './batch';
import { shardGradients, type BatchLossScale } from './classifier-gradients';
import { GradientReplicas, splitBatch } from './gradient-replicas';
import { trainClassifier } from './train-classifier';
import { TEACHER_DEFAULTS } from './train-options';

const shape = { height: 12, width: 12, channels: 1 };
const none = { level: 'none' as const, randAugmentN: 2, randAugmentM: 9 };

/** Three classes by where the bright band is (top, middle, bottom), with noise; some rows soft-labeled. */
function examples(n: number, seed: number): Example[] {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  return Array.from({ length: n }, (_, i) => {
    const label = i % 3;
    const image = new Uint8Array(144);
    for (let p = 0; p < 144; p++) image[p] = Math.floor(p / 48) === label ? 180 + rand() * 75 : rand() * 90;
    return i % 4 === 3 ? { image, label, probabilities: Float32Array.from([0.1, 0.1, 0.1].map((v, c) => (c === label ? 0.8 : v))) } : { image, label };
  });
}

const model = (seed: number) => buildModel({ name: 'cnn-small', inputShape: [12, 12, 1], numClasses: 3, width: 0.25, seed, dropout: 0 });
const flat = (ts: tf.Tensor[]) => ts.map((t) => Array.from(t.dataSync()));
const maxRelDiff = (a: number[][], b: number[][]) => {
  let worst = 0;
  a.forEach((row, i) => {
    const scale = Math.max(1e-6, ...row.map(Math.abs));
    row.forEach((v, j) => { worst = Math.max(worst, Math.abs(v - b[i][j]) / scale); });
  });
  return worst;
};

let replicas: GradientReplicas | undefined;
before(async () => { await initBackend({ purpose: 'train' }); });
after(async () => { await replicas?.dispose(); });

test('splitBatch spreads human and pseudo rows evenly and keeps each shard human-first', () => {
  const h = examples(7, 1);
  const p = examples(5, 2);
  const shards = splitBatch(h, p, 3);
  assert.deepEqual(shards.map((s) => [s.humanCount, s.examples.length - s.humanCount]), [[2, 1], [2, 2], [3, 2]]);
  assert.deepEqual(shards.flatMap((s) => s.examples.slice(0, s.humanCount)), h);
  assert.deepEqual(shards.flatMap((s) => s.examples.slice(s.humanCount)), p);
});

test('a batch split between this thread and a worker gives the gradients and losses of the whole batch', async () => {
  const m = model(5);
  const variables = m.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  const human = examples(10, 3);
  const pseudo = examples(14, 4);
  const scale: BatchLossScale = { humanTotal: 10, pseudoTotal: 14, humanWeight: 0.6, pseudoWeight: 1.7, labelSmoothing: 0.1 };
  const gradsOf = (rows: Example[], humanCount: number) => tf.tidy(() => shardGradients(m, variables, imagesToTensor(rows, shape), targetsToTensor(rows, 3), humanCount, scale));
  const whole = gradsOf(human.concat(pseudo), 10);

  replicas = await GradientReplicas.start(1, m, { backend: 'wasm', shape, numClasses: 3, augment: none });
  const [first, second] = splitBatch(human, pseudo, 2);
  const remote = replicas.compute(variables.map((v) => v.dataSync() as Float32Array), [{ ...second, scale, seed: 1 }]);
  const local = gradsOf(first.examples, first.humanCount);
  const [other] = await remote;
  // A second step from other weights: the worker holds as many tensors as after the first (nothing leaks per step).
  const [again] = await replicas.compute(variables.map((v) => (v.dataSync() as Float32Array).map((w) => w * 0.5)), [{ ...second, scale, seed: 2 }]);
  assert.equal(again.tensorsHeld, other.tensorsHeld, 'tensors held by the worker after two steps');
  assert.notEqual(again.loss, other.loss, 'the second step used the new weights');
  const summed = local.grads.map((g, i) => Array.from(g.dataSync()).map((v, j) => v + other.grads[i][j]));
  assert.ok(maxRelDiff(flat(whole.grads), summed) < 1e-4, `gradients differ by ${maxRelDiff(flat(whole.grads), summed)}`);
  assert.ok(Math.abs(local.loss + other.loss - whole.loss) < 1e-5 * Math.abs(whole.loss), `loss ${local.loss + other.loss} vs ${whole.loss}`);
  assert.ok(Math.abs(local.humanSum + other.humanSum - whole.humanSum) < 1e-4);
  assert.ok(Math.abs(local.pseudoSum + other.pseudoSum - whole.pseudoSum) < 1e-4);
  // The worker really computed something: its shard's share is neither zero nor the whole.
  assert.ok(other.loss > 0.1 * whole.loss && other.loss < 0.9 * whole.loss, `worker loss ${other.loss} of ${whole.loss}`);
  tf.dispose([...whole.grads, ...local.grads]);
  m.dispose();
});

test('a worker that cannot run a step fails that call with the reason the worker gave', async () => {
  const m = model(6);
  const variables = m.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  const weights = variables.map((v) => v.dataSync() as Float32Array);
  weights[0] = new Float32Array(3); // a kernel with the wrong number of values
  const scale: BatchLossScale = { humanTotal: 4, pseudoTotal: 0, humanWeight: 1, pseudoWeight: 0, labelSmoothing: 0 };
  await assert.rejects(replicas!.compute(weights, [{ examples: examples(4, 1), humanCount: 4, scale, seed: 1 }]), /gradient worker failed: .*values/s);
  m.dispose();
});

test('two threads train the same model as one: same batches, same steps, the same weights up to rounding', async () => {
  const run = async (threads: number) => {
    const m = model(7);
    const result = await trainClassifier({
      model: m, shape, numClasses: 3, labeled: examples(48, 8), validation: examples(30, 9), backend: 'wasm', threads,
      options: { ...TEACHER_DEFAULTS, maxSteps: 25, evalEvery: 25, checkpointEvery: 100, batchSize: 12, warmupSteps: 2, augment: 'none', learningRate: 0.05, dropout: 0 },
      pseudo: { sampler: { sample: async (n) => examples(n, 10) }, fraction: 0.5, alpha: 1, normalizeLoss: true },
      saveCheckpoint: async (kind, step) => ({ key: `${kind}@${step}`, sha256: '', sizeBytes: 0 }) as Artifact,
    });
    const weights = flat(m.getWeights());
    m.dispose();
    return { result, weights };
  };
  const tensorsBefore = tf.memory().numTensors;
  const one = await run(1);
  const two = await run(2);
  assert.equal(two.result.steps, 25);
  const drift = maxRelDiff(one.weights, two.weights);
  assert.ok(drift < 1e-3, `weights drifted by ${drift}`);
  // And they moved: 25 steps changed the weights far more than the drift between thread counts.
  const init = model(7);
  assert.ok(maxRelDiff(flat(init.getWeights()), one.weights) > 100 * drift, 'the weights moved');
  init.dispose();
  assert.ok(Math.abs(one.result.curve[0].loss - two.result.curve[0].loss) < 1e-3, `losses ${one.result.curve[0].loss} vs ${two.result.curve[0].loss}`);
  assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensor leaked');
});
