import { tf } from '@selftrain/compute';
import { modelGraph } from './layer-calls';
import { UnsupportedLayerError } from './onnx-layers';
import { interpolationMatrix } from './interpolation-matrix';

type InboundRef = [string, number, number, Record<string, unknown>];
interface LayerJson { name: string; class_name: string; config: Record<string, unknown>; inbound_nodes: InboundRef[][] }
interface ModelTopology { class_name: string; config: { name: string; layers: LayerJson[]; input_layers: [string, number, number][]; output_layers: [string, number, number][] }; keras_version?: string; backend?: string }

/** Model artifacts of a LayersModel built from stock TF.js layers only (model.json's content and the weights). */
export interface StockTfjsArtifacts {
  modelJson: tf.io.ModelJSON;
  weightData: ArrayBuffer;
}

/** The model with its input fixed to `size` (the segmenter takes any size; stock layers need a static one). */
async function withFixedInput(model: tf.LayersModel, size: [number, number]): Promise<tf.LayersModel> {
  const topology = model.toJSON(null, false) as unknown as ModelTopology;
  for (const layer of topology.config.layers) {
    if (layer.class_name !== 'InputLayer') continue;
    const shape = layer.config.batch_input_shape as (number | null)[];
    layer.config.batch_input_shape = [shape[0], size[0], size[1], shape[3]];
  }
  const fixed = await tf.models.modelFromJSON({ modelTopology: topology as unknown as tf.io.ModelJSON['modelTopology'] });
  fixed.setWeights(model.getWeights());
  return fixed;
}

function stockLayer(name: string, className: string, config: Record<string, unknown>, inbound: InboundRef[]): LayerJson {
  return { name, class_name: className, config: { name, trainable: false, ...config }, inbound_nodes: [inbound] };
}

/**
 * The inference form of a zoo model as stock TF.js layers, loadable by `tf.loadLayersModel` with no
 * selftrain code registered:
 * - Dropout is left out (the identity at inference).
 * - SelftrainStochasticDepth becomes Add; its inference scaling (1 - rate) is folded into the batch norm
 *   that ends the residual branch (gamma and beta times 1 - rate).
 * - SelftrainResizeLike becomes a separable linear map: Permute, Dense (no bias, a fixed interpolation
 *   matrix along the width), Permute, Dense (along the height), Permute. The matrices reproduce TF.js's
 *   nearest (floor, no align-corners) and bilinear (align-corners) kernels for the sizes the model sees, so
 *   the sizes are baked: a model with a free input size (the segmenter) is exported at `inputSize`.
 * Layer names are kept, so weights of unchanged layers keep their names.
 */
export async function exportStockTfjs(model: tf.LayersModel, metadata: Record<string, string>, inputSize?: [number, number]): Promise<StockTfjsArtifacts> {
  const [, h, w] = model.inputs[0].shape;
  let source = model;
  if (h == null || w == null) {
    if (!inputSize) throw new UnsupportedLayerError(model.inputNames[0], 'the input size is free; a stock TF.js export needs one (inputSize)');
    source = await withFixedInput(model, inputSize);
  }
  try {
    return await rewrite(source, metadata);
  } finally {
    if (source !== model) source.dispose();
  }
}

async function rewrite(model: tf.LayersModel, metadata: Record<string, string>): Promise<StockTfjsArtifacts> {
  const topology = model.toJSON(null, false) as unknown as ModelTopology;
  const graph = modelGraph(model);
  const shapes = new Map(graph.calls.map((c) => [c.layer.name, c.inputShapes]));
  const byName = new Map(topology.config.layers.map((l) => [l.name, l]));
  /** layer name -> the reference its consumers read instead (a removed layer's input). */
  const replaced = new Map<string, InboundRef>();
  /** layer name -> its new weights, by Keras weight name (kernel, gamma, ...). */
  const weights = new Map<string, Map<string, tf.Tensor>>();
  const original = (layer: string) => {
    const l = model.getLayer(layer);
    return new Map(l.weights.map((v, i) => [v.originalName.split('/').pop() as string, l.getWeights()[i]]));
  };
  const consumers = (name: string) => topology.config.layers.filter((l) => l.inbound_nodes.some((n) => n.some((r) => r[0] === name)));
  const layers: LayerJson[] = [];
  const owned: tf.Tensor[] = [];
  for (const layer of topology.config.layers) {
    if (layer.inbound_nodes.length > 1 && ['Dropout', 'SelftrainStochasticDepth', 'SelftrainResizeLike'].includes(layer.class_name)) {
      throw new UnsupportedLayerError(layer.name, `${layer.class_name} applied ${layer.inbound_nodes.length} times`);
    }
    const inbound = layer.inbound_nodes[0];
    switch (layer.class_name) {
      case 'Dropout':
        replaced.set(layer.name, inbound[0]);
        break;
      case 'SelftrainStochasticDepth': {
        const rate = layer.config.rate as number;
        const residual = inbound[1][0];
        if (rate > 0) {
          const bn = byName.get(residual);
          if (bn?.class_name !== 'BatchNormalization' || consumers(residual).length !== 1 || bn.inbound_nodes.length !== 1) {
            throw new UnsupportedLayerError(layer.name, `stochastic depth ${rate} on a residual branch that does not end in a batch norm of its own (${residual})`);
          }
          const ws = weights.get(residual) ?? original(residual);
          const keep = 1 - rate;
          for (const k of ['gamma', 'beta']) {
            const t = ws.get(k);
            if (!t) throw new UnsupportedLayerError(residual, `batch norm without ${k}: cannot fold stochastic depth`);
            const scaled = tf.mul(t, keep);
            owned.push(scaled);
            ws.set(k, scaled);
          }
          weights.set(residual, ws);
        }
        layers.push(stockLayer(layer.name, 'Add', {}, inbound));
        break;
      }
      case 'SelftrainResizeLike': {
        const [xShape, refShape] = shapes.get(layer.name) as tf.Shape[];
        const [, inH, inW] = xShape as number[];
        const [, outH, outW] = refShape as number[];
        if ([inH, inW, outH, outW].some((d) => d == null)) throw new UnsupportedLayerError(layer.name, 'resize between sizes not known before run time');
        if (inH === outH && inW === outW) { replaced.set(layer.name, inbound[0]); break; }
        const method = layer.config.method as 'nearest' | 'bilinear';
        const n = layer.name;
        const ref = (name: string): InboundRef => [name, 0, 0, {}];
        const dense = (name: string, units: number) => stockLayer(name, 'Dense', { units, activation: 'linear', use_bias: false, kernel_initializer: { class_name: 'Zeros', config: {} } }, [ref(name.replace(/_resize$/, '_permute'))]);
        layers.push(stockLayer(`${n}_w_permute`, 'Permute', { dims: [1, 3, 2] }, [inbound[0]]));
        layers.push(dense(`${n}_w_resize`, outW));
        layers.push(stockLayer(`${n}_h_permute`, 'Permute', { dims: [3, 2, 1] }, [ref(`${n}_w_resize`)]));
        layers.push(dense(`${n}_h_resize`, outH));
        layers.push(stockLayer(n, 'Permute', { dims: [3, 1, 2] }, [ref(`${n}_h_resize`)]));
        const mw = tf.tensor2d(interpolationMatrix(inW, outW, method), [inW, outW]);
        const mh = tf.tensor2d(interpolationMatrix(inH, outH, method), [inH, outH]);
        owned.push(mw, mh);
        weights.set(`${n}_w_resize`, new Map([['kernel', mw]]));
        weights.set(`${n}_h_resize`, new Map([['kernel', mh]]));
        break;
      }
      default:
        layers.push(layer);
    }
  }
  // Consumers of a removed layer read its input instead (chains of removals resolve to the end).
  const resolve = (r: InboundRef): InboundRef => {
    let ref = r;
    while (replaced.has(ref[0])) ref = replaced.get(ref[0]) as InboundRef;
    return ref;
  };
  for (const layer of layers) layer.inbound_nodes = layer.inbound_nodes.map((node) => node.map(resolve));
  topology.config.layers = layers;
  topology.config.output_layers = topology.config.output_layers.map((o) => {
    const [l, n, t] = resolve([o[0], o[1], o[2], {}]);
    return [l, n, t];
  });
  try {
    const stock = await tf.models.modelFromJSON({ modelTopology: topology as unknown as tf.io.ModelJSON['modelTopology'] });
    try {
      for (const layer of stock.layers) {
        if (layer.weights.length === 0) continue;
        const ws = weights.get(layer.name) ?? original(layer.name);
        layer.setWeights(layer.weights.map((v) => {
          const t = ws.get(v.originalName.split('/').pop() as string);
          if (!t) throw new Error(`no weight ${v.originalName} for layer ${layer.name}`);
          return t;
        }));
      }
      return await artifactsOf(stock, metadata);
    } finally {
      stock.dispose();
    }
  } finally {
    tf.dispose(owned);
  }
}

async function artifactsOf(model: tf.LayersModel, metadata: Record<string, string>): Promise<StockTfjsArtifacts> {
  let result: StockTfjsArtifacts | undefined;
  await model.save({
    save: async (a) => {
      const weightData = a.weightData == null ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(a.weightData);
      result = {
        modelJson: {
          modelTopology: a.modelTopology as object, format: a.format, generatedBy: a.generatedBy, convertedBy: a.convertedBy,
          weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs ?? [] }],
          userDefinedMetadata: metadata,
        },
        weightData,
      };
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    },
  });
  if (!result) throw new Error('model.save did not call the save handler');
  return result;
}
