import { test } from 'node:test';
import assert from 'node:assert/strict';
import { onnx } from '@selftrain/proto';
import { OnnxGraphBuilder, onnxModel } from './onnx-graph-builder';
import { openOnnxSession, runOnnx } from './onnx-session';

test('a hand-built graph (Flatten, Gemm, Softmax) runs in onnxruntime-node and gives the probabilities computed by hand', async () => {
  // A 2x2 grey image, 3 classes: logits = flatten(x) . W + b.
  const w = Float32Array.from([1, 0, -1, 0, 2, 0, 0.5, 0, 1, -1, 1, 0]);
  const b = Float32Array.from([0.1, -0.2, 0]);
  const g = new OnnxGraphBuilder();
  g.reserve('probabilities');
  const x = g.input('image', ['batch', 2, 2, 1]);
  const flat = g.op('Flatten', [x], 'flat', { axis: 1 });
  const logits = g.op('Gemm', [flat, g.floatInitializer('w', [4, 3], w), g.floatInitializer('b', [3], b)], 'logits');
  g.node('Softmax', [logits], ['probabilities'], { axis: -1 });
  g.output('probabilities', ['batch', 3]);
  const bytes = onnx.ModelProto.encode(onnxModel(g.graph('hand-built'), { class_names: '["a","b","c"]' }, '0', 'test')).finish();
  const session = await openOnnxSession(bytes);
  const image = Float32Array.from([0.5, 1, 0, 0.25]);
  const got = (await runOnnx(session, { data: image, shape: [1, 2, 2, 1] })).probabilities;
  await session.release();
  const z = [0, 1, 2].map((k) => b[k] + [0, 1, 2, 3].reduce((s, i) => s + image[i] * w[i * 3 + k], 0));
  const e = z.map((v) => Math.exp(v - Math.max(...z)));
  const want = e.map((v) => v / e.reduce((s, u) => s + u, 0));
  assert.deepEqual(got.dims, [1, 3]);
  want.forEach((p, k) => assert.ok(Math.abs(got.data[k] - p) < 1e-6, `class ${k}: ${got.data[k]} vs ${p}`));
});
