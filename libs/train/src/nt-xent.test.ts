import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '@selftrain/compute';
import { ntXent } from './nt-xent';

before(async () => {
  assert.equal((await initBackend({ purpose: 'train' })).name, 'wasm');
});

/**
 * NT-Xent written out loop by loop in float64, straight from the paper: views k and N+k are a pair,
 * ℓ(i) = -log exp(s(i,pos)/τ) / Σ_{j≠i} exp(s(i,j)/τ), s the cosine similarity; loss = mean over 2N anchors.
 */
function referenceNtXent(a: number[][], b: number[][], tau: number): { loss: number; accuracy: number } {
  const views = [...a, ...b].map((v) => {
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    return v.map((x) => x / norm);
  });
  const m = views.length;
  const n = m / 2;
  let loss = 0;
  let hits = 0;
  for (let i = 0; i < m; i++) {
    const pos = (i + n) % m;
    const sims = views.map((v, j) => (j === i ? -Infinity : v.reduce((s, x, d) => s + x * views[i][d], 0) / tau));
    const max = Math.max(...sims);
    const logDenominator = max + Math.log(sims.reduce((s, x) => s + Math.exp(x - max), 0));
    loss += logDenominator - sims[pos];
    if (sims.indexOf(max) === pos) hits += 1;
  }
  return { loss: loss / m, accuracy: hits / m };
}

function randomMatrix(rows: number, cols: number, seed: number): number[][] {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  return Array.from({ length: rows }, () => Array.from({ length: cols }, rand));
}

function run(a: number[][], b: number[][], tau?: number): { loss: number; accuracy: number } {
  return tf.tidy(() => {
    const r = ntXent(tf.tensor2d(a), tf.tensor2d(b), tau);
    return { loss: r.loss.dataSync()[0], accuracy: r.accuracy.dataSync()[0] };
  });
}

test('matches a plain float64 computation on random projections, for several N, D and τ', () => {
  const tensorsBefore = tf.memory().numTensors;
  for (const [n, d, tau, seed] of [[2, 3, 0.5, 1], [5, 7, 0.5, 2], [8, 16, 0.1, 3], [16, 4, 1, 4]] as const) {
    const a = randomMatrix(n, d, seed);
    // b: a noisy copy of a, so some anchors find their positive and some do not.
    const noise = randomMatrix(n, d, seed + 100);
    const b = a.map((row, i) => row.map((x, j) => x + 0.8 * noise[i][j]));
    const got = run(a, b, tau);
    const want = referenceNtXent(a, b, tau);
    assert.ok(Math.abs(got.loss - want.loss) < 1e-5 * Math.max(1, want.loss), `N=${n} D=${d} τ=${tau}: ${got.loss} vs ${want.loss}`);
    assert.ok(Math.abs(got.accuracy - want.accuracy) < 1e-6, `accuracy ${got.accuracy} vs ${want.accuracy}`);
  }
  assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensor leaked');
});

test('hand-worked 2-image case: identical views, swapped views, and scale invariance', () => {
  // Views e1, e2 | e1, e2. Each anchor: its positive at cosine 1, two negatives at 0. With τ = 0.5,
  // ℓ = -log(e² / (e² + 1 + 1)) = log(1 + 2e⁻²) for all four anchors.
  const same = run([[1, 0], [0, 1]], [[1, 0], [0, 1]]);
  assert.ok(Math.abs(same.loss - Math.log(1 + 2 * Math.exp(-2))) < 1e-6, `${same.loss}`);
  assert.equal(same.accuracy, 1);
  // Views e1, e2 | e2, e1: each positive is orthogonal (logit 0) and a negative is identical (logit 2):
  // ℓ = -log(1 / (1 + 1 + e²)) = log(2 + e²), and no anchor finds its positive.
  const swapped = run([[1, 0], [0, 1]], [[0, 1], [1, 0]]);
  assert.ok(Math.abs(swapped.loss - Math.log(2 + Math.exp(2))) < 1e-5, `${swapped.loss}`);
  assert.equal(swapped.accuracy, 0);
  // Projections are l2-normalized first: scaling a view changes nothing. τ = 1: log(1 + 2e⁻¹).
  const scaled = run([[3, 0], [0, 0.5]], [[7, 0], [0, 2]], 1);
  assert.ok(Math.abs(scaled.loss - Math.log(1 + 2 * Math.exp(-1))) < 1e-6, `${scaled.loss}`);
});

test('the gradient is finite, non-zero and agrees with central differences of the reference', () => {
  const a = randomMatrix(4, 5, 7);
  const b = randomMatrix(4, 5, 8);
  const tau = 0.5;
  const [ga, gb] = tf.tidy(() => {
    const grads = tf.grads((x: tf.Tensor, y: tf.Tensor) => ntXent(x as tf.Tensor2D, y as tf.Tensor2D, tau).loss)([tf.tensor2d(a), tf.tensor2d(b)]);
    return grads.map((g) => g.arraySync() as number[][]);
  });
  const flat = [...ga.flat(), ...gb.flat()];
  assert.ok(flat.every(Number.isFinite), 'finite');
  assert.ok(Math.sqrt(flat.reduce((s, g) => s + g * g, 0)) > 1e-3, 'non-zero');
  const h = 1e-4;
  for (const [which, grad] of [[a, ga], [b, gb]] as const) {
    for (let i = 0; i < which.length; i++) {
      for (let j = 0; j < which[0].length; j++) {
        const orig = which[i][j];
        which[i][j] = orig + h;
        const up = referenceNtXent(a, b, tau).loss;
        which[i][j] = orig - h;
        const down = referenceNtXent(a, b, tau).loss;
        which[i][j] = orig;
        const numeric = (up - down) / (2 * h);
        assert.ok(Math.abs(grad[i][j] - numeric) < 1e-4 + 1e-3 * Math.abs(numeric), `d/d[${i}][${j}]: ${grad[i][j]} vs ${numeric}`);
      }
    }
  }
});

test('rejects mismatched views and a non-positive temperature', () => {
  tf.tidy(() => {
    assert.throws(() => ntXent(tf.zeros([2, 3]) as tf.Tensor2D, tf.zeros([3, 3]) as tf.Tensor2D), /one shape/);
    assert.throws(() => ntXent(tf.ones([2, 3]) as tf.Tensor2D, tf.ones([2, 3]) as tf.Tensor2D, 0), /temperature/);
  });
});
