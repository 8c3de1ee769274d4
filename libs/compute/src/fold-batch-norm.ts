import * as tf from '@tensorflow/tfjs';

type InboundRef = [string, number, number, Record<string, unknown>];
interface LayerJson { name: string; class_name: string; config: Record<string, unknown>; inbound_nodes: InboundRef[][] }
interface ModelTopology {
  class_name: string;
  config: { name: string; layers: LayerJson[]; input_layers: [string, number, number][]; output_layers: [string, number, number][] };
}

/** The convs whose output channels a following batch norm can scale (HWIO: the last axis is the output). */
const FOLDABLE_CONVS = new Set(['Conv2D']);

/** A ReLU layer that is plain max(x, 0) (tf.layers.reLU() or activation('relu')), which a fused conv can end with. */
function isPlainRelu(layer: LayerJson): boolean {
  if (layer.class_name === 'Activation') return layer.config.activation === 'relu';
  if (layer.class_name !== 'ReLU') return false;
  const { max_value: max, negative_slope: slope, threshold } = layer.config as Record<string, number | null | undefined>;
  return max == null && !slope && !threshold;
}

/** A conv, its batch norm, and the ReLU after them where it folds too. */
interface Fold { conv: string; bn: string; relu?: string }

/** Weights of one layer by their Keras names (kernel, bias, gamma, beta, moving_mean, moving_variance). */
function namedWeights(layer: tf.layers.Layer): Map<string, tf.Tensor> {
  const values = layer.getWeights();
  return new Map(layer.weights.map((w, i) => [w.originalName.split('/').pop() as string, values[i]]));
}

/**
 * The conv's kernel and bias with the batch norm after it applied (inference: moving statistics):
 * y = gamma (conv(x) + b - mean) / sqrt(var + eps) + beta, so kernel' = kernel s and bias' = beta + (b - mean) s
 * per output channel, with s = gamma / sqrt(var + eps). Computed in double precision, once.
 */
function foldedWeights(conv: tf.layers.Layer, bn: tf.layers.Layer, epsilon: number): [tf.Tensor, tf.Tensor] {
  const c = namedWeights(conv);
  const b = namedWeights(bn);
  const kernel = c.get('kernel') as tf.Tensor;
  const out = kernel.shape[kernel.rank - 1];
  const read = (m: Map<string, tf.Tensor>, name: string, fill: number) => {
    const t = m.get(name);
    return t ? Float64Array.from(t.dataSync()) : new Float64Array(out).fill(fill);
  };
  const gamma = read(b, 'gamma', 1);
  const beta = read(b, 'beta', 0);
  const mean = read(b, 'moving_mean', 0);
  const variance = read(b, 'moving_variance', 1);
  const convBias = read(c, 'bias', 0);
  const scale = gamma.map((g, i) => g / Math.sqrt(variance[i] + epsilon));
  const k = kernel.dataSync();
  const folded = new Float32Array(k.length);
  for (let i = 0; i < k.length; i++) folded[i] = k[i] * scale[i % out];
  const bias = Float32Array.from(beta, (be, i) => be + (convBias[i] - mean[i]) * scale[i]);
  return [tf.tensor(folded, kernel.shape), tf.tensor1d(bias)];
}

/**
 * The inference form of a functional model with every Conv2D + BatchNormalization (+ ReLU) folded into one
 * Conv2D with a bias (and a ReLU activation), which the backend runs as one fused conv (FusedConv2D: on the
 * native kernels one oneDNN conv with bias and ReLU post-op) instead of a conv, a batch norm pass and a
 * ReLU pass over the activations. Folded where the conv is linear, applied once, feeds only that batch
 * norm, and the batch norm normalises the last (channel) axis; everything else is kept as it is. Layer names
 * are kept (the folded conv keeps the conv's), the model's outputs too. Built once per loaded model: the
 * weights are folded here, not per batch. Only for inference: the folded model has no batch norm to train.
 * Returns the model itself where nothing folds (a Sequential, no batch norm); else a new model with its own
 * weights (the caller disposes the original when done with it).
 */
export async function foldBatchNorm(model: tf.LayersModel): Promise<{ model: tf.LayersModel; folded: number }> {
  const topology = model.toJSON(null, false) as unknown as ModelTopology;
  if (!Array.isArray(topology.config?.layers) || topology.config.layers.some((l) => !Array.isArray(l.inbound_nodes))) {
    return { model, folded: 0 };
  }
  const layers = topology.config.layers;
  const byName = new Map(layers.map((l) => [l.name, l]));
  const outputs = new Set(topology.config.output_layers.map((o) => o[0]));
  const consumers = new Map<string, LayerJson[]>();
  for (const l of layers) for (const node of l.inbound_nodes) for (const ref of node) consumers.set(ref[0], [...(consumers.get(ref[0]) ?? []), l]);
  const only = (name: string) => {
    const c = consumers.get(name) ?? [];
    return c.length === 1 && !outputs.has(name) ? c[0] : undefined;
  };

  const folds: Fold[] = [];
  for (const bn of layers) {
    if (bn.class_name !== 'BatchNormalization' || bn.inbound_nodes.length !== 1 || bn.inbound_nodes[0].length !== 1) continue;
    const axis = bn.config.axis as number;
    if (axis !== -1 && axis !== 3) continue;
    const conv = byName.get(bn.inbound_nodes[0][0][0]);
    if (!conv || !FOLDABLE_CONVS.has(conv.class_name) || conv.inbound_nodes.length !== 1 || only(conv.name) !== bn) continue;
    if ((conv.config.activation ?? 'linear') !== 'linear' || (conv.config.data_format ?? 'channels_last') !== 'channels_last') continue;
    const next = only(bn.name);
    const relu = next && next.inbound_nodes.length === 1 && isPlainRelu(next) ? next.name : undefined;
    folds.push({ conv: conv.name, bn: bn.name, relu });
  }
  if (folds.length === 0) return { model, folded: 0 };

  /** removed layer -> the layer its consumers read instead */
  const replaced = new Map<string, string>();
  for (const f of folds) {
    const conv = byName.get(f.conv) as LayerJson;
    conv.config.use_bias = true;
    conv.config.bias_initializer ??= { class_name: 'Zeros', config: {} };
    replaced.set(f.bn, f.conv);
    if (f.relu) {
      conv.config.activation = 'relu';
      replaced.set(f.relu, f.conv);
    }
  }
  topology.config.layers = layers.filter((l) => !replaced.has(l.name));
  for (const l of topology.config.layers) {
    for (const node of l.inbound_nodes) for (const ref of node) ref[0] = replaced.get(ref[0]) ?? ref[0];
  }

  const fused = await tf.models.modelFromJSON({ modelTopology: topology as unknown as tf.io.ModelJSON['modelTopology'] });
  const byConv = new Map(folds.map((f) => [f.conv, f]));
  for (const layer of fused.layers) {
    const f = byConv.get(layer.name);
    const source = model.getLayer(layer.name);
    const weights = f
      ? foldedWeights(source, model.getLayer(f.bn), byName.get(f.bn)!.config.epsilon as number)
      : source.getWeights();
    layer.setWeights(weights);
    if (f) tf.dispose(weights);
  }
  // The same model to its readers: what a checkpoint records beside its weights (its input and its
  // normalisation, which the labeler and evaluator check against the dataset) stays with it.
  const metadata = model.getUserDefinedMetadata();
  if (metadata) fused.setUserDefinedMetadata(metadata);
  return { model: fused, folded: folds.length };
}
