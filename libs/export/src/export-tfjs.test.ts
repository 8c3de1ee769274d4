import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend, tf } from '@selftrain/compute';
import { exportStockTfjs } from './export-tfjs';
import { interpolationMatrix } from './interpolation-matrix';
import { predictWithStockTfjs } from './testing/stock-tfjs-child';
import { ZOO_CASES, maxAbsDiff, perturbBatchNorm } from './testing/zoo-cases';

before(async () => {
  await initBackend({ purpose: 'infer' });
});

for (const [i, zoo] of ZOO_CASES.entries()) {
  test(`stock tf.loadLayersModel runs the TF.js export of ${zoo.name} to within 1e-4 of the selftrain model`, async () => {
    const model = zoo.build();
    perturbBatchNorm(model, 200 + i);
    const images = zoo.images();
    const [, h, w] = images.shape;
    const { modelJson, weightData } = await exportStockTfjs(model, { task: 'test' }, [h, w]);
    const classes = (modelJson.modelTopology as { config: { layers: { class_name: string }[] } }).config.layers.map((l) => l.class_name);
    assert.ok(!classes.some((c) => c.startsWith('Selftrain') || c === 'Dropout'), classes.join());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'selftrain-export-'));
    try {
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(modelJson));
      fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(weightData));
      const got = predictWithStockTfjs(dir, images);
      const x = tf.tensor4d(images.data, images.shape);
      const expected = model.predict(x) as tf.Tensor | tf.Tensor[];
      const outs = Array.isArray(expected) ? expected : [expected];
      assert.equal(got.length, outs.length);
      outs.forEach((t, o) => {
        const diff = maxAbsDiff(got[o], t.dataSync());
        assert.ok(diff <= 1e-4, `${model.outputNames[o]}: max abs diff ${diff}`);
      });
      tf.dispose([x, ...outs]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      model.dispose();
    }
  });
}

test('the interpolation matrices reproduce TF.js resizeNearestNeighbor and resizeBilinear(alignCorners) on odd sizes', () => {
  for (const [inSize, outSize] of [[3, 5], [3, 6], [4, 7], [5, 9], [2, 8]]) {
    const x = tf.randomUniform([1, inSize, inSize, 1], 0, 1, 'float32', 7);
    for (const method of ['nearest', 'bilinear'] as const) {
      const want = method === 'nearest' ? tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [outSize, outSize], false, false) : tf.image.resizeBilinear(x as tf.Tensor4D, [outSize, outSize], true, false);
      const m = tf.tensor2d(interpolationMatrix(inSize, outSize, method), [inSize, outSize]);
      // out[u][v] = sum over h, w of M[h][u] x[h][w] M[w][v]
      const got = tf.tidy(() => tf.matMul(tf.matMul(m, x.reshape([inSize, inSize]), true, false), m));
      assert.ok(maxAbsDiff(got.dataSync(), want.dataSync()) < 1e-6, `${method} ${inSize}->${outSize}`);
      tf.dispose([want, m, got]);
    }
    x.dispose();
  }
});
