import type { tf } from '@selftrain/compute';
import { onnx } from '@selftrain/proto';
import { modelGraph } from './layer-calls';
import { OnnxGraphBuilder, onnxModel, type Dim } from './onnx-graph-builder';
import { ONNX_CONVERTERS, TO_NCHW, UnsupportedLayerError, toPlain, type OnnxValue } from './onnx-layers';

/** Keras shape [null, H, W, C] to ONNX dims: the batch is the free dimension 'batch', other unknowns get their own names. */
function dims(shape: tf.Shape, names: string[]): Dim[] {
  return shape.map((d, i) => (d == null ? names[i] ?? `dim${i}` : d));
}

/**
 * The inference graph of a TF.js LayersModel of the zoo as an ONNX model (opset 17).
 * Inputs and outputs keep TF.js's names, layout and shapes: the input is NHWC [batch, H, W, C] float32
 * (transposed to NCHW by the graph's first node), a classifier outputs logits [batch, K], the detector
 * class logits [batch, N, K] and box deltas [batch, N, 4], the segmenter logits [batch, H, W, K].
 * Dropout is left out and stochastic depth becomes its inference scaling. `metadata` goes to metadata_props.
 */
export function exportOnnx(model: tf.LayersModel, metadata: Record<string, string>, producerVersion = '0.1.0'): onnx.ModelProto {
  const graph = modelGraph(model);
  const g = new OnnxGraphBuilder();
  const values = new Map<string, OnnxValue>();
  for (const out of graph.outputs) g.reserve(out.name);
  for (const input of graph.inputs) {
    const name = g.input(input.name, dims(input.shape, ['batch', 'height', 'width', 'channels']));
    values.set(input.key, input.shape.length === 4
      ? { name: g.op('Transpose', [name], `${input.name}_nchw`, { perm: TO_NCHW }), layout: 'nchw' }
      : { name, layout: 'plain' });
  }
  for (const call of graph.calls) {
    const convert = ONNX_CONVERTERS[call.className];
    if (!convert) throw new UnsupportedLayerError(call.layer.name, `layer class ${call.className} has no ONNX form here (known: ${Object.keys(ONNX_CONVERTERS).join(', ')})`);
    values.set(call.output, convert(g, call, call.inputs.map((k) => values.get(k) as OnnxValue)));
  }
  for (const out of graph.outputs) {
    const v = values.get(out.key) as OnnxValue;
    // The output keeps its layer's name; an Identity gives it that name whatever produced the value.
    g.node('Identity', [toPlain(g, v, out.name)], [out.name]);
    g.output(out.name, dims(out.shape, ['batch', 'height', 'width']));
  }
  return onnxModel(g.graph(model.name), metadata, producerVersion, `selftrain ${model.name}, exported from TF.js`);
}

/** The ONNX file's bytes. */
export function encodeOnnx(model: onnx.ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}
