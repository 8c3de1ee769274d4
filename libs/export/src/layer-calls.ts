import type { tf } from '@selftrain/compute';

/** One application of a layer in a functional model: a layer used on several tensors (the detector's shared subnets) has several. */
export interface LayerCall {
  layer: tf.layers.Layer;
  className: string;
  /** the index of this call among the layer's inbound nodes */
  nodeIndex: number;
  /** the keys (see callKey) of the tensors it consumes, in order */
  inputs: string[];
  inputShapes: tf.Shape[];
  /** the key of its (single) output */
  output: string;
  outputShape: tf.Shape;
}

export interface ModelGraph {
  /** every call, each after the calls that produce its inputs */
  calls: LayerCall[];
  /** the model's input tensors' keys, shapes and names */
  inputs: { key: string; name: string; shape: tf.Shape }[];
  /** the model's outputs, named after the layer that produces each */
  outputs: { key: string; name: string; shape: tf.Shape }[];
}

export function callKey(layer: string, node: number, tensor: number): string {
  return `${layer}:${node}:${tensor}`;
}

type InboundRef = [string, number, number, unknown];
interface LayerConfigEntry { name: string; className: string; inboundNodes: InboundRef[][] }

/**
 * The model's layer calls in dependency order, read from its config (which numbers the nodes within the model,
 * whatever else the layers were used in). Every zoo layer has one output; a layer with several is refused.
 */
export function modelGraph(model: tf.LayersModel): ModelGraph {
  const config = model.getConfig() as unknown as { layers: LayerConfigEntry[]; inputLayers: [string, number, number][]; outputLayers: [string, number, number][] };
  const pending: LayerCall[] = [];
  for (const entry of config.layers) {
    const layer = model.getLayer(entry.name);
    if (entry.className === 'InputLayer') continue;
    entry.inboundNodes.forEach((refs, nodeIndex) => {
      const node = layer.inboundNodes[nodeIndex];
      if (node.outputTensors.length !== 1) throw new Error(`layer ${layer.name} (${entry.className}) has ${node.outputTensors.length} outputs; the exporter handles single-output layers`);
      pending.push({
        layer, className: entry.className, nodeIndex,
        inputs: refs.map(([l, n, t]) => callKey(l, n, t)),
        inputShapes: node.inputTensors.map((t) => t.shape),
        output: callKey(entry.name, nodeIndex, 0),
        outputShape: node.outputTensors[0].shape,
      });
    });
  }
  const inputs = config.inputLayers.map(([l, n, t]) => ({ key: callKey(l, n, t), name: l, shape: model.getLayer(l).inboundNodes[n].outputTensors[t].shape }));
  const ready = new Set(inputs.map((i) => i.key));
  const calls: LayerCall[] = [];
  while (pending.length > 0) {
    const i = pending.findIndex((c) => c.inputs.every((k) => ready.has(k)));
    if (i < 0) throw new Error(`the model's graph has calls whose inputs are never produced: ${pending.map((c) => c.layer.name).join(', ')}`);
    const [call] = pending.splice(i, 1);
    calls.push(call);
    ready.add(call.output);
  }
  const outputs = config.outputLayers.map(([l, n, t]) => ({ key: callKey(l, n, t), name: l, shape: model.getLayer(l).inboundNodes[n].outputTensors[t].shape }));
  return { calls, inputs, outputs };
}
