import type { tf } from '@selftrain/compute';
import { InputError } from '@selftrain/errors';
import type { LayerCall } from './layer-calls';
import type { OnnxGraphBuilder } from './onnx-graph-builder';

/**
 * A value in the ONNX graph. Image tensors (rank 4) run NCHW inside the graph, since ONNX's Conv, pooling,
 * BatchNormalization and Resize are NCHW-only; every other tensor keeps TF.js's layout ('plain').
 */
export interface OnnxValue {
  name: string;
  layout: 'nchw' | 'plain';
}

export const TO_NCHW = [0, 3, 1, 2];
export const TO_NHWC = [0, 2, 3, 1];

/**
 * A model the exporter cannot write: the field is the layer's name, the message what it could not map.
 * Bad input (the caller's model), so the CLI exits 2 on it.
 */
export class UnsupportedLayerError extends InputError {
  constructor(layer: string, what: string) {
    super(`layer ${layer}`, `cannot export: ${what}`);
  }
}

/** A layer's weight by its Keras name (kernel, bias, gamma, ...), or undefined. */
function weight(layer: tf.layers.Layer, suffix: string): tf.Tensor | undefined {
  const i = layer.weights.findIndex((w) => w.originalName.endsWith(`/${suffix}`));
  return i < 0 ? undefined : layer.getWeights()[i];
}

function floats(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

/** Brings an image tensor to TF.js's NHWC layout (for a layer whose meaning depends on the element order). */
export function toPlain(g: OnnxGraphBuilder, v: OnnxValue, base: string): string {
  return v.layout === 'nchw' ? g.op('Transpose', [v.name], `${base}_nhwc`, { perm: TO_NHWC }) : v.name;
}

function activation(g: OnnxGraphBuilder, layerName: string, name: string, fn: string): string {
  switch (fn) {
    case 'linear': return name;
    case 'relu': return g.op('Relu', [name], `${layerName}_relu`);
    case 'sigmoid': return g.op('Sigmoid', [name], `${layerName}_sigmoid`);
    case 'tanh': return g.op('Tanh', [name], `${layerName}_tanh`);
    case 'softmax': return g.op('Softmax', [name], `${layerName}_softmax`, { axis: -1 });
    default: throw new UnsupportedLayerError(layerName, `activation ${fn}`);
  }
}

function paddingAttrs(layerName: string, padding: string): Record<string, string> {
  // TF's 'same' pads the extra pixel (stride > 1, even overhang) at the end, which is ONNX's SAME_UPPER.
  if (padding === 'same') return { auto_pad: 'SAME_UPPER' };
  if (padding === 'valid') return { auto_pad: 'VALID' };
  throw new UnsupportedLayerError(layerName, `padding ${padding}`);
}

function pair(v: number | number[]): number[] {
  return Array.isArray(v) ? v : [v, v];
}

function conv2d(g: OnnxGraphBuilder, call: LayerCall, x: OnnxValue): OnnxValue {
  const layer = call.layer;
  const c = layer.getConfig() as { kernelSize: number[]; strides: number[]; padding: string; dilationRate: number | number[]; activation: string; dataFormat: string };
  if (c.dataFormat !== 'channelsLast') throw new UnsupportedLayerError(layer.name, `dataFormat ${c.dataFormat}`);
  const kernel = weight(layer, 'kernel') as tf.Tensor;
  const [kh, kw, ci, co] = kernel.shape;
  // TF.js kernels are [kh, kw, in, out]; ONNX's [out, in, kh, kw].
  const w = (kernel.transpose([3, 2, 0, 1]) as tf.Tensor);
  const inputs = [x.name, g.floatInitializer(`${layer.name}_kernel`, [co, ci, kh, kw], floats(w))];
  w.dispose();
  const bias = weight(layer, 'bias');
  if (bias) inputs.push(g.floatInitializer(`${layer.name}_bias`, [co], floats(bias)));
  const y = g.op('Conv', inputs, layer.name, {
    kernel_shape: [kh, kw], strides: pair(c.strides), dilations: pair(c.dilationRate), group: 1, ...paddingAttrs(layer.name, c.padding),
  });
  return { name: activation(g, layer.name, y, c.activation), layout: 'nchw' };
}

function dense(g: OnnxGraphBuilder, call: LayerCall, x: OnnxValue): OnnxValue {
  const layer = call.layer;
  const c = layer.getConfig() as { activation: string };
  const kernel = weight(layer, 'kernel') as tf.Tensor;
  const bias = weight(layer, 'bias');
  const k = g.floatInitializer(`${layer.name}_kernel`, kernel.shape, floats(kernel));
  const input = toPlain(g, x, layer.name);
  let y: string;
  if (call.inputShapes[0].length === 2) {
    const inputs = [input, k];
    if (bias) inputs.push(g.floatInitializer(`${layer.name}_bias`, bias.shape, floats(bias)));
    y = g.op('Gemm', inputs, layer.name);
  } else {
    // Dense on a higher-rank tensor works on its last axis, like MatMul.
    y = g.op('MatMul', [input, k], layer.name);
    if (bias) y = g.op('Add', [y, g.floatInitializer(`${layer.name}_bias`, bias.shape, floats(bias))], `${layer.name}_biased`);
  }
  return { name: activation(g, layer.name, y, c.activation), layout: 'plain' };
}

function batchNormalization(g: OnnxGraphBuilder, call: LayerCall, x: OnnxValue): OnnxValue {
  const layer = call.layer;
  const c = layer.getConfig() as { axis: number | number[]; epsilon: number };
  const rank = call.inputShapes[0].length;
  const axis = Array.isArray(c.axis) ? c.axis[0] : c.axis;
  if (axis !== -1 && axis !== rank - 1) throw new UnsupportedLayerError(layer.name, `batch norm over axis ${axis}`);
  if (rank !== 4 && rank !== 2) throw new UnsupportedLayerError(layer.name, `batch norm of a rank-${rank} tensor`);
  const mean = weight(layer, 'moving_mean') as tf.Tensor;
  const n = mean.shape[0];
  const gamma = weight(layer, 'gamma');
  const beta = weight(layer, 'beta');
  // Inference form: the moving statistics, as TF.js's predict uses them.
  const y = g.op('BatchNormalization', [
    x.name,
    g.floatInitializer(`${layer.name}_gamma`, [n], gamma ? floats(gamma) : new Float32Array(n).fill(1)),
    g.floatInitializer(`${layer.name}_beta`, [n], beta ? floats(beta) : new Float32Array(n)),
    g.floatInitializer(`${layer.name}_mean`, [n], floats(mean)),
    g.floatInitializer(`${layer.name}_variance`, [n], floats(weight(layer, 'moving_variance') as tf.Tensor)),
  ], layer.name, { epsilon: { float: c.epsilon } });
  return { name: y, layout: x.layout };
}

function reLU(g: OnnxGraphBuilder, call: LayerCall, x: OnnxValue): OnnxValue {
  const c = call.layer.getConfig() as { maxValue?: number | null };
  if (c.maxValue != null) {
    const lo = g.floatInitializer(`${call.layer.name}_min`, [], new Float32Array([0]));
    const hi = g.floatInitializer(`${call.layer.name}_max`, [], new Float32Array([c.maxValue]));
    return { name: g.op('Clip', [x.name, lo, hi], call.layer.name), layout: x.layout };
  }
  return { name: g.op('Relu', [x.name], call.layer.name), layout: x.layout };
}

function pooling(g: OnnxGraphBuilder, call: LayerCall, x: OnnxValue, op: 'MaxPool' | 'AveragePool'): OnnxValue {
  const c = call.layer.getConfig() as { poolSize: number[]; strides: number[]; padding: string };
  const attrs: Record<string, string | number[] | number> = { kernel_shape: pair(c.poolSize), strides: pair(c.strides ?? c.poolSize), ...paddingAttrs(call.layer.name, c.padding) };
  // TF's average pool divides by the pixels inside the image only.
  if (op === 'AveragePool') attrs.count_include_pad = 0;
  return { name: g.op(op, [x.name], call.layer.name, attrs), layout: 'nchw' };
}

function globalAveragePooling(g: OnnxGraphBuilder, call: LayerCall, x: OnnxValue): OnnxValue {
  const pooled = g.op('GlobalAveragePool', [x.name], `${call.layer.name}_pool`);
  return { name: g.op('Flatten', [pooled], call.layer.name, { axis: 1 }), layout: 'plain' };
}

function flatten(g: OnnxGraphBuilder, call: LayerCall, x: OnnxValue): OnnxValue {
  // TF.js flattens in NHWC order, so the dense layer after it expects that order.
  return { name: g.op('Flatten', [toPlain(g, x, call.layer.name)], call.layer.name, { axis: 1 }), layout: 'plain' };
}

function reshape(g: OnnxGraphBuilder, call: LayerCall, x: OnnxValue): OnnxValue {
  const c = call.layer.getConfig() as { targetShape: number[] };
  // 0 copies the batch dimension from the input; -1 infers one dimension, as in Keras.
  const shape = g.int64Initializer(`${call.layer.name}_shape`, [0, ...c.targetShape.map((d) => (d == null ? -1 : d))]);
  return { name: g.op('Reshape', [toPlain(g, x, call.layer.name), shape], call.layer.name), layout: 'plain' };
}

/** Element-wise joins: every input in one layout (NCHW wins when the inputs are images). */
function sameLayout(g: OnnxGraphBuilder, call: LayerCall, xs: OnnxValue[]): OnnxValue[] {
  if (xs.every((x) => x.layout === xs[0].layout)) return xs;
  return xs.map((x) => (x.layout === 'nchw' ? { name: toPlain(g, x, call.layer.name), layout: 'plain' } : x));
}

function add(g: OnnxGraphBuilder, call: LayerCall, inputs: OnnxValue[]): OnnxValue {
  const xs = sameLayout(g, call, inputs);
  const names = xs.map((x) => x.name);
  return { name: g.op(names.length === 2 ? 'Add' : 'Sum', names, call.layer.name), layout: xs[0].layout };
}

function concatenate(g: OnnxGraphBuilder, call: LayerCall, inputs: OnnxValue[]): OnnxValue {
  const c = call.layer.getConfig() as { axis: number };
  const xs = sameLayout(g, call, inputs);
  const rank = call.inputShapes[0].length;
  let axis = c.axis < 0 ? rank + c.axis : c.axis;
  if (xs[0].layout === 'nchw') axis = [0, 2, 3, 1][axis];
  return { name: g.op('Concat', xs.map((x) => x.name), call.layer.name, { axis }), layout: xs[0].layout };
}

/**
 * Stochastic depth at inference: shortcut + (1 - rate) * residual, the expectation TF.js's predict computes.
 * The random drop itself is training-only and is not exported.
 */
function stochasticDepth(g: OnnxGraphBuilder, call: LayerCall, inputs: OnnxValue[]): OnnxValue {
  const rate = (call.layer as unknown as { rate: number }).rate;
  const [shortcut, residual] = sameLayout(g, call, inputs);
  let r = residual.name;
  if (rate > 0) r = g.op('Mul', [r, g.floatInitializer(`${call.layer.name}_survival`, [], new Float32Array([1 - rate]))], `${call.layer.name}_scaled`);
  return { name: g.op('Add', [shortcut.name, r], call.layer.name), layout: shortcut.layout };
}

/**
 * ResizeLike: resize to the spatial size of the reference input, read at run time with Shape, so the
 * segmenter keeps taking any input size. Coordinate modes match TF.js's kernels: nearest without
 * align-corners or half-pixel centres is 'asymmetric' + floor; bilinear with align-corners is 'align_corners'.
 */
function resizeLike(g: OnnxGraphBuilder, call: LayerCall, inputs: OnnxValue[]): OnnxValue {
  const method = (call.layer as unknown as { method: string }).method;
  const [x, ref] = inputs;
  if (x.layout !== 'nchw' || ref.layout !== 'nchw') throw new UnsupportedLayerError(call.layer.name, 'ResizeLike of a tensor that is not an image');
  const name = call.layer.name;
  const batchAndChannels = g.op('Shape', [x.name], `${name}_nc`, { start: 0, end: 2 });
  const spatial = g.op('Shape', [ref.name], `${name}_hw`, { start: 2, end: 4 });
  const sizes = g.op('Concat', [batchAndChannels, spatial], `${name}_sizes`, { axis: 0 });
  const attrs: Record<string, string> = method === 'nearest'
    ? { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }
    : { mode: 'linear', coordinate_transformation_mode: 'align_corners' };
  return { name: g.op('Resize', [x.name, '', '', sizes], name, attrs), layout: 'nchw' };
}

/** Dropout is the identity at inference: it is left out of the exported graph. */
function identity(_g: OnnxGraphBuilder, _call: LayerCall, x: OnnxValue): OnnxValue {
  return x;
}

function activationLayer(g: OnnxGraphBuilder, call: LayerCall, x: OnnxValue): OnnxValue {
  const fn = (call.layer.getConfig() as { activation: string }).activation;
  return { name: activation(g, call.layer.name, x.name, fn), layout: x.layout };
}

type Converter = (g: OnnxGraphBuilder, call: LayerCall, inputs: OnnxValue[]) => OnnxValue;
const one = (f: (g: OnnxGraphBuilder, call: LayerCall, x: OnnxValue) => OnnxValue): Converter => (g, call, xs) => f(g, call, xs[0]);

/** Every layer class of the zoo (libs/models), by TF.js class name. */
export const ONNX_CONVERTERS: Record<string, Converter> = {
  Conv2D: one(conv2d),
  Dense: one(dense),
  BatchNormalization: one(batchNormalization),
  ReLU: one(reLU),
  Activation: one(activationLayer),
  MaxPooling2D: one((g, c, x) => pooling(g, c, x, 'MaxPool')),
  AveragePooling2D: one((g, c, x) => pooling(g, c, x, 'AveragePool')),
  GlobalAveragePooling2D: one(globalAveragePooling),
  Flatten: one(flatten),
  Reshape: one(reshape),
  Dropout: one(identity),
  Add: add,
  Concatenate: concatenate,
  SelftrainStochasticDepth: stochasticDepth,
  SelftrainResizeLike: resizeLike,
};
