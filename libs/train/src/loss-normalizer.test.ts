import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LossNormalizer } from './loss-normalizer';
import { cosineLearningRate } from './learning-rate';

test('loss normalization follows L = (L_h + alpha * (Lbar_h/Lbar_p) * L_p) / (1 + alpha)', () => {
  const n = new LossNormalizer(3, 0.9);
  // Before any step the ratio is 1.
  assert.deepEqual(n.weights(), { human: 0.25, pseudo: 0.75 });
  n.update(2, 0.5);
  // Bias-corrected averages after one step are the values themselves: ratio 4.
  const w = n.update(2, 0.5);
  assert.ok(Math.abs(n.humanRunning() - 2) < 1e-12 && Math.abs(n.pseudoRunning() - 0.5) < 1e-12);
  assert.ok(Math.abs(w.human - 0.25) < 1e-12);
  assert.ok(Math.abs(w.pseudo - 0.25 * 3 * 4) < 1e-9);
  // The combined loss then equals L_h * (1/(1+a)) + L_p * (a/(1+a)) * ratio.
  const combined = w.human * 2 + w.pseudo * 0.5;
  assert.ok(Math.abs(combined - (2 + 3 * 4 * 0.5) / 4) < 1e-9);
});

test('running averages move toward new values; disabled normalization is plain L_h + alpha L_p', () => {
  const n = new LossNormalizer(1, 0.5);
  n.update(1, 1);
  n.update(3, 1);
  // EMA with decay 0.5 bias-corrected: (0.25*1 + 0.5*3)/(1-0.25) = 2.333...
  assert.ok(Math.abs(n.humanRunning() - 7 / 3) < 1e-9);
  const off = new LossNormalizer(2, 0.99, false);
  off.update(5, 1);
  assert.deepEqual(off.weights(), { human: 1, pseudo: 2 });
});

test('state round-trips for checkpoints', () => {
  const a = new LossNormalizer(1);
  a.update(1.5, 0.7);
  const b = new LossNormalizer(1);
  b.restore(a.state());
  assert.deepEqual(b.weights(), a.weights());
});

test('cosine schedule: warmup, peak, decay to zero', () => {
  assert.ok(Math.abs(cosineLearningRate(0, 0.1, 100, 10) - 0.01) < 1e-12);
  assert.ok(Math.abs(cosineLearningRate(10, 0.1, 100, 10) - 0.1) < 1e-12);
  assert.ok(Math.abs(cosineLearningRate(55, 0.1, 100, 10) - 0.05) < 1e-12);
  assert.ok(cosineLearningRate(100, 0.1, 100, 10) < 1e-12);
});
