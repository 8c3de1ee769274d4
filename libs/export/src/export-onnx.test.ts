import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '@selftrain/compute';
import { buildSegmenter } from '@selftrain/models';
import { onnx } from '@selftrain/proto';
import { encodeOnnx, exportOnnx } from './export-onnx';
import { ONNX_OPSET } from './onnx-graph-builder';
import { openOnnxSession, runOnnx } from './onnx-session';
import { fashionMnistCanvases } from './testing/real-images';
import { ZOO_CASES, maxAbsDiff, perturbBatchNorm } from './testing/zoo-cases';

before(async () => {
  await initBackend({ purpose: 'infer' });
});

for (const [i, zoo] of ZOO_CASES.entries()) {
  test(`onnxruntime-node runs the ONNX export of ${zoo.name} to within 1e-4 of TF.js on real images`, async () => {
    const model = zoo.build();
    perturbBatchNorm(model, 100 + i);
    const images = zoo.images();
    const bytes = encodeOnnx(exportOnnx(model, { 'selftrain.test': zoo.name }));
    const session = await openOnnxSession(bytes);
    const got = await runOnnx(session, { data: images.data, shape: images.shape });
    const x = tf.tensor4d(images.data, images.shape);
    const expected = model.predict(x) as tf.Tensor | tf.Tensor[];
    const outs = Array.isArray(expected) ? expected : [expected];
    assert.deepEqual(session.outputNames, model.outputNames);
    outs.forEach((t, o) => {
      const name = model.outputNames[o];
      assert.deepEqual(got[name].dims, t.shape, `${name}: shape`);
      const want = t.dataSync();
      const diff = maxAbsDiff(got[name].data, want);
      const scale = maxAbsDiff(want, new Float32Array(want.length));
      assert.ok(diff <= 1e-4, `${name}: max abs diff ${diff} (outputs up to ${scale})`);
    });
    tf.dispose([x, ...outs]);
    await session.release();
    model.dispose();
  });
}

test('the ONNX file declares opset 17, NHWC input named like the model, no Dropout and the metadata', () => {
  const model = ZOO_CASES[1].build();
  const decoded = onnx.ModelProto.decode(encodeOnnx(exportOnnx(model, { 'selftrain.input_layout': 'NHWC' })));
  assert.equal(decoded.opsetImport[0].version, ONNX_OPSET);
  assert.ok(ONNX_OPSET >= 13);
  const input = decoded.graph?.input[0];
  assert.equal(input?.name, 'image');
  assert.deepEqual(input?.type?.tensorType?.shape?.dim.map((d) => d.dimValue ?? d.dimParam), ['batch', 32, 32, 3]);
  const ops = new Set(decoded.graph?.node.map((n) => n.opType));
  assert.ok(!ops.has('Dropout') && !ops.has('RandomUniform'), [...ops].join());
  assert.ok(ops.has('BatchNormalization') && ops.has('Conv'));
  assert.deepEqual(decoded.metadataProps, [{ key: 'selftrain.input_layout', value: 'NHWC' }]);
  model.dispose();
});

test('the ONNX segmenter keeps a free input size: 80x72 and 45x61 (odd sizes through the FPN) match TF.js', async () => {
  const model = buildSegmenter({ inputShape: [64, 64, 1], numClasses: 5, seed: 3 });
  perturbBatchNorm(model, 7);
  const session = await openOnnxSession(encodeOnnx(exportOnnx(model, {})));
  for (const [h, w] of [[80, 72], [45, 61]]) {
    const images = fashionMnistCanvases(2, Math.max(h, w));
    // The top-left h x w of each canvas.
    const data = new Float32Array(2 * h * w);
    const side = Math.max(h, w);
    for (let b = 0; b < 2; b++) for (let y = 0; y < h; y++) data.set(images.data.subarray(b * side * side + y * side, b * side * side + y * side + w), (b * h + y) * w);
    const x = tf.tensor4d(data, [2, h, w, 1]);
    const want = model.predict(x) as tf.Tensor;
    const got = (await runOnnx(session, { data, shape: [2, h, w, 1] })).logits;
    assert.deepEqual(got.dims, [2, h, w, 5]);
    assert.ok(maxAbsDiff(got.data, want.dataSync()) <= 1e-4, `${h}x${w}: ${maxAbsDiff(got.data, want.dataSync())}`);
    tf.dispose([x, want]);
  }
  await session.release();
  model.dispose();
});
