import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend } from '@selftrain/compute';
import { boxRegressionLoss, masksToLabels, retinaNetLoss, segmentationCrossEntropy, sigmoidFocalLoss } from './index';

before(async () => {
  delete process.env.SELFTRAIN_BACKEND;
  assert.equal((await initBackend()).name, 'wasm');
});

// 3 anchors x 2 classes: class 1 (target at index 0), background, ignored.
const logits = [[2, -1], [0.5, -3], [5, 5]];
const targets = [1, 0, -1];

test('focal loss matches a hand computation (alpha 0.25, gamma 2, / number of positives)', () => {
  // -alpha_t (1 - p_t)^2 log p_t per element, written out: p = sigmoid(x).
  const fl = (x: number, t: number) => {
    const p = 1 / (1 + Math.exp(-x));
    const pt = t ? p : 1 - p;
    return -(t ? 0.25 : 0.75) * (1 - pt) ** 2 * Math.log(pt);
  };
  const expected = fl(2, 1) + fl(-1, 0) + fl(0.5, 0) + fl(-3, 0); // the ignored anchor adds nothing
  assert.ok(Math.abs(expected - 0.300585) < 1e-6);
  const got = tf.tidy(() => sigmoidFocalLoss(tf.tensor2d(logits), tf.tensor1d(targets, 'int32'), { normalizer: 1 }).dataSync()[0]);
  assert.ok(Math.abs(got - expected) < 1e-5, `${got} vs ${expected}`);
  const halved = tf.tidy(() => sigmoidFocalLoss(tf.tensor2d(logits), tf.tensor1d(targets, 'int32'), { normalizer: 2 }).dataSync()[0]);
  assert.ok(Math.abs(halved - expected / 2) < 1e-5);
  // gamma 0, alpha 0.5 is half the plain binary cross-entropy.
  const bce = tf.tidy(() => sigmoidFocalLoss(tf.tensor2d([[0.3]]), tf.tensor1d([1], 'int32'), { alpha: 0.5, gamma: 0, normalizer: 1 }).dataSync()[0]);
  assert.ok(Math.abs(bce - 0.5 * Math.log(1 + Math.exp(-0.3))) < 1e-6);
});

test('focal loss: ignored anchors get zero gradient, large logits stay finite', () => {
  const g = tf.tidy(() => tf.grad((x: tf.Tensor) => sigmoidFocalLoss(x, tf.tensor1d(targets, 'int32'), { normalizer: 1 }))(tf.tensor2d(logits)).arraySync() as number[][]);
  assert.deepEqual(g[2], [0, 0]);
  assert.ok(g[0][0] < 0 && g[1][0] > 0, 'pushes the positive up and the background down');
  const big = tf.tidy(() => sigmoidFocalLoss(tf.tensor2d([[80, -80]]), tf.tensor1d([0], 'int32'), { normalizer: 1 }).dataSync()[0]);
  assert.ok(Number.isFinite(big) && big > 50, `${big}`);
});

test('smooth-L1 box loss on positives only, / number of positives', () => {
  const deltas = tf.tensor2d([[0.05, -0.5, 2, 0], [9, 9, 9, 9], [1, 1, 1, 1]]);
  const boxTargets = tf.zeros([3, 4]);
  const got = tf.tidy(() => boxRegressionLoss(deltas, boxTargets, tf.tensor1d(targets, 'int32'), { beta: 0.1, normalizer: 1 }).dataSync()[0]);
  // |d| < beta: 0.5 d^2 / beta; else |d| - beta / 2.
  const expected = (0.5 * 0.05 ** 2) / 0.1 + (0.5 - 0.05) + (2 - 0.05) + 0;
  assert.ok(Math.abs(got - expected) < 1e-6, `${got} vs ${expected}`);
  const l1 = tf.tidy(() => boxRegressionLoss(deltas, boxTargets, tf.tensor1d(targets, 'int32'), { beta: 0, normalizer: 2 }).dataSync()[0]);
  assert.ok(Math.abs(l1 - 2.55 / 2) < 1e-6);
  const total = tf.tidy(() => {
    const l = retinaNetLoss([tf.tensor2d(logits), deltas], { classTargets: tf.tensor1d(targets, 'int32') as unknown as tf.Tensor2D, boxTargets: boxTargets as tf.Tensor3D, numPositives: 1 }, { beta: 0.1 });
    return [l.total, l.classification, l.box].map((t) => t.dataSync()[0]);
  });
  assert.ok(Math.abs(total[0] - (total[1] + total[2])) < 1e-6 && Math.abs(total[2] - expected) < 1e-6);
  tf.dispose([deltas, boxTargets]);
});

test('segmentation cross-entropy skips the ignore label: hand-computed mean, zero gradient on ignored pixels', () => {
  const x = tf.tensor4d([[[[1, 2, 0.5], [-1, 0, 3], [4, -2, 0]]]]); // 1 x 1 x 3 pixels x 3 classes
  const labels = tf.tensor3d([[[0, 2, 255]]], undefined, 'int32');
  const ce = (l: number[], y: number) => -(l[y] - Math.log(l.reduce((s, v) => s + Math.exp(v), 0)));
  const expected = (ce([1, 2, 0.5], 0) + ce([-1, 0, 3], 2)) / 2;
  assert.ok(Math.abs(expected - 0.765126) < 1e-5);
  const got = tf.tidy(() => segmentationCrossEntropy(x, labels).dataSync()[0]);
  assert.ok(Math.abs(got - expected) < 1e-5, `${got} vs ${expected}`);
  const g = tf.tidy(() => tf.grad((l: tf.Tensor) => segmentationCrossEntropy(l as tf.Tensor4D, labels))(x).dataSync());
  assert.ok(g.slice(6).every((v) => v === 0), `ignored pixel gradient ${g.slice(6)}`);
  // (softmax - onehot) / valid pixels on the others.
  const sm = [1, 2, 0.5].map((v) => Math.exp(v) / (Math.exp(1) + Math.exp(2) + Math.exp(0.5)));
  [sm[0] - 1, sm[1], sm[2]].forEach((v, i) => assert.ok(Math.abs(g[i] - v / 2) < 1e-5));
  const allIgnored = tf.tidy(() => segmentationCrossEntropy(x, tf.fill([1, 1, 3], 255, 'int32') as tf.Tensor3D).dataSync()[0]);
  assert.equal(allIgnored, 0);
  tf.dispose([x, labels]);
});

test('masksToLabels checks class ids', () => {
  const t = masksToLabels([Uint8Array.from([0, 1, 255, 2])], 2, 2, 3);
  assert.deepEqual(t.shape, [1, 2, 2]);
  assert.deepEqual(Array.from(t.dataSync()), [0, 1, 255, 2]);
  t.dispose();
  assert.throws(() => masksToLabels([Uint8Array.from([0, 3, 0, 0])], 2, 2, 3), /class 3/);
  assert.throws(() => masksToLabels([Uint8Array.from([0, 1])], 2, 2, 3), /pixels/);
});

test('class-balanced segmentation cross-entropy: each pixel weighs (n_c + 1)^-p, ignored pixels weigh nothing', () => {
  // 4 pixels, 2 classes: labels 0, 0, 1 and one ignored; logits chosen by hand.
  const logits = [[2, 0], [0.5, 1], [1, -1], [3, 3]];
  const labels = [0, 0, 1, 255];
  const x = tf.tensor4d(logits.flat(), [1, 1, 4, 2]);
  const lab = tf.tensor3d(labels, [1, 1, 4], 'int32');
  const nll = (l: number[], c: number) => Math.log(Math.exp(l[0]) + Math.exp(l[1])) - l[c];
  const p = 0.5;
  const w = [(2 + 1) ** -p, (1 + 1) ** -p]; // class 0 has 2 labeled pixels, class 1 has 1
  const expected = (w[0] * nll(logits[0], 0) + w[0] * nll(logits[1], 0) + w[1] * nll(logits[2], 1)) / (2 * w[0] + w[1]);
  const plain = (nll(logits[0], 0) + nll(logits[1], 0) + nll(logits[2], 1)) / 3;
  const got = tf.tidy(() => segmentationCrossEntropy(x, lab, { classBalance: p }).dataSync()[0]);
  assert.ok(Math.abs(got - expected) < 1e-5, `${got} vs ${expected}`);
  assert.ok(Math.abs(tf.tidy(() => segmentationCrossEntropy(x, lab, { classBalance: 0 }).dataSync()[0]) - plain) < 1e-5);
  const g = tf.tidy(() => tf.grad((l: tf.Tensor) => segmentationCrossEntropy(l as tf.Tensor4D, lab, { classBalance: p }))(x).dataSync());
  assert.ok(Math.abs(g[6]) + Math.abs(g[7]) === 0, 'the ignored pixel gets no gradient');
  // The rare class's pixel pulls harder than under the plain mean.
  const gPlain = tf.tidy(() => tf.grad((l: tf.Tensor) => segmentationCrossEntropy(l as tf.Tensor4D, lab))(x).dataSync());
  assert.ok(Math.abs(g[5]) > Math.abs(gPlain[5]), `rare-class gradient ${g[5]} vs plain ${gPlain[5]}`);
  tf.dispose([x, lab]);
});
