import type { tf } from '@selftrain/compute';

const dims = (shape: number[]) => ({ dim: shape.map((d) => ({ size: String(d) })) });
const float = { type: 'DT_FLOAT' };

/**
 * A TF.js GraphModel written by hand in tfjs-converter's format (model.json's `format: "graph-model"`,
 * `modelTopology` a GraphDef as JSON, Const nodes' values in the weights), as no converter runs offline
 * here and no GraphModel ships with the npm packages: Placeholder [-1, ...dims] -> Reshape [-1, D] ->
 * MatMul W [D, K] -> BiasAdd b [K] (-> Softmax). `weights` is [D, K] row-major in the input's flattened order.
 */
export function linearGraphModel(opts: {
  dims: [number, number, number]; weights: Float32Array; bias: Float32Array; inputName?: string; softmax?: boolean; inputDtype?: 'DT_FLOAT' | 'DT_INT32';
}): { modelJson: tf.io.ModelJSON; weightData: Uint8Array } {
  const D = opts.dims[0] * opts.dims[1] * opts.dims[2];
  const K = opts.bias.length;
  const x = opts.inputName ?? 'x';
  const node = [
    { name: x, op: 'Placeholder', attr: { dtype: { type: opts.inputDtype ?? 'DT_FLOAT' }, shape: { shape: dims([-1, ...opts.dims]) } } },
    { name: 'flat_shape', op: 'Const', attr: { dtype: { type: 'DT_INT32' }, value: { tensor: { dtype: 'DT_INT32', tensorShape: dims([2]) } } } },
    { name: 'W', op: 'Const', attr: { dtype: float, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims([D, K]) } } } },
    { name: 'b', op: 'Const', attr: { dtype: float, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims([K]) } } } },
    { name: 'flat', op: 'Reshape', input: [x, 'flat_shape'], attr: { T: float, Tshape: { type: 'DT_INT32' } } },
    { name: 'matmul', op: 'MatMul', input: ['flat', 'W'], attr: { T: float, transpose_a: { b: false }, transpose_b: { b: false } } },
    { name: 'logits', op: 'BiasAdd', input: ['matmul', 'b'], attr: { T: float, data_format: { s: Buffer.from('NHWC').toString('base64') } } },
    ...(opts.softmax ? [{ name: 'probs', op: 'Softmax', input: ['logits'], attr: { T: float } }] : []),
  ];
  // A copy of its own: Buffer.concat's result can be a view of a larger shared pool.
  const weightData = new Uint8Array(Buffer.concat([
    Buffer.from(Int32Array.from([-1, D]).buffer),
    Buffer.from(Float32Array.from(opts.weights).buffer),
    Buffer.from(Float32Array.from(opts.bias).buffer),
  ]));
  const modelJson: tf.io.ModelJSON = {
    format: 'graph-model',
    generatedBy: 'hand-built in a test',
    convertedBy: null,
    modelTopology: { node, library: {}, versions: { producer: 1 } },
    weightsManifest: [{
      paths: ['group1-shard1of1.bin'],
      weights: [
        { name: 'flat_shape', shape: [2], dtype: 'int32' },
        { name: 'W', shape: [D, K], dtype: 'float32' },
        { name: 'b', shape: [K], dtype: 'float32' },
      ],
    }],
  };
  return { modelJson, weightData };
}
