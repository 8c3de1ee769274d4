import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend } from './index';
import { onBothBackends, randomValues, relError } from './test-support/compare';

before(async () => {
  delete process.env.SELFTRAIN_BACKEND;
  assert.equal((await initBackend()).name, 'wasm');
});

// The FPN detector and segmenter upsample with ResizeNearestNeighbor (top-down 2x) and ResizeBilinear
// with alignCorners (decoder and output). Stock wasm has both gradients and they measured fast (resize
// gradients ~3% of a segmenter step), so the project adds no kernel for them; these tests pin that the
// stock ones are right. The cpu backend is no reference here: in tfjs 4.22 its ResizeNearestNeighborGrad
// is wrong for batch > 1 and its ResizeBilinearGrad throws for non-square images (found by these tests).
// So the gradients are checked against the exact adjoint R^T dy, with R read off the forward op applied
// to one-hot images, and against cpu only where cpu is right.
type Method = 'nearest' | 'bilinear';
const resize = (method: Method, to: [number, number], alignCorners: boolean) => (a: tf.Tensor) =>
  method === 'nearest'
    ? tf.image.resizeNearestNeighbor(a as tf.Tensor4D, to, alignCorners)
    : tf.image.resizeBilinear(a as tf.Tensor4D, to, alignCorners);

/** R^T dy for dy [B, oh, ow, C], R from the wasm forward op on the inH*inW one-hot images. */
function adjoint(method: Method, from: [number, number], to: [number, number], alignCorners: boolean, dy: Float32Array, b: number, c: number): Float32Array {
  const n = from[0] * from[1];
  const m = to[0] * to[1];
  const r = tf.tidy(() => resize(method, to, alignCorners)(tf.reshape(tf.oneHot(tf.range(0, n, 1, 'int32'), n), [n, ...from, 1])).dataSync());
  const out = new Float32Array(b * n * c);
  for (let bi = 0; bi < b; bi++) for (let i = 0; i < n; i++) for (let o = 0; o < m; o++) {
    const w = r[i * m + o];
    if (w === 0) continue;
    for (let ci = 0; ci < c; ci++) out[(bi * n + i) * c + ci] += w * dy[(bi * m + o) * c + ci];
  }
  return out;
}

const cases: { method: Method; from: [number, number]; to: [number, number]; alignCorners: boolean }[] = [
  { method: 'nearest', from: [3, 3], to: [6, 6], alignCorners: false },
  { method: 'nearest', from: [6, 5], to: [12, 10], alignCorners: false },
  { method: 'nearest', from: [3, 3], to: [5, 5], alignCorners: false },
  { method: 'bilinear', from: [3, 3], to: [24, 24], alignCorners: true },
  { method: 'bilinear', from: [6, 6], to: [24, 24], alignCorners: true },
  { method: 'bilinear', from: [7, 9], to: [28, 30], alignCorners: true },
  { method: 'bilinear', from: [5, 4], to: [9, 11], alignCorners: false },
];

for (const c of cases) {
  test(`${c.method} ${c.from.join('x')} -> ${c.to.join('x')} (alignCorners ${c.alignCorners}): forward matches cpu, gradient is the exact adjoint`, async () => {
    const x = randomValues([2, ...c.from, 3], 1);
    const dy = randomValues([2, ...c.to, 3], 2);
    const f = resize(c.method, c.to, c.alignCorners);
    const { wasm, cpu } = await onBothBackends([x], (xt) => [f(xt)]);
    assert.ok(relError(wasm[0], cpu[0]) < 1e-5, `forward: ${relError(wasm[0], cpu[0])}`);
    const grad = tf.tidy(() => tf.grad(f)(tf.tensor(x.values, x.shape), tf.tensor(dy.values, dy.shape)).dataSync() as Float32Array);
    const exact = adjoint(c.method, c.from, c.to, c.alignCorners, dy.values, 2, 3);
    assert.ok(relError(grad, exact) < 1e-5, `gradient: ${relError(grad, exact)}`);
    // Where the cpu backend's gradient is right (one image, square), wasm agrees with it too.
    if (c.from[0] === c.from[1]) {
      const one = randomValues([1, ...c.from, 3], 3);
      const dy1 = randomValues([1, ...c.to, 3], 4);
      const both = await onBothBackends([one, dy1], (xt, dyt) => [tf.grad(f)(xt, dyt)]);
      assert.ok(relError(both.wasm[0], both.cpu[0]) < 1e-5, `gradient vs cpu: ${relError(both.wasm[0], both.cpu[0])}`);
    }
  });
}
