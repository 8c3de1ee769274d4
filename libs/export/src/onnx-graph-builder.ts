import { onnx } from '@selftrain/proto';

/** The ONNX opset the exporter writes (>= 15 for Shape's start/end; onnxruntime 1.30 runs up to 23). */
export const ONNX_OPSET = 17;
/** IR version 8 (ONNX 1.10+), the newest the vendored onnx.proto names; every runtime since 2021 reads it. */
export const ONNX_IR_VERSION = onnx.Version.IR_VERSION;

/** A number is an INT attribute when it is an integer, else FLOAT; `{ float }` forces FLOAT. */
export type AttributeValue = number | string | number[] | { float: number } | { floats: number[] };

/** A dimension: a size, or a symbolic name (a free dimension such as the batch). */
export type Dim = number | string;

const FLOAT = onnx.TensorProto_DataType.FLOAT;
const INT64 = onnx.TensorProto_DataType.INT64;

function attribute(name: string, value: AttributeValue): onnx.AttributeProto {
  const T = onnx.AttributeProto_AttributeType;
  const base = onnx.AttributeProto.fromPartial({ name });
  if (typeof value === 'string') return { ...base, type: T.STRING, s: Buffer.from(value, 'utf8') };
  if (typeof value === 'number') {
    // Integers go as INT, others as FLOAT: every attribute the converters write is one or the other by nature.
    return Number.isInteger(value) ? { ...base, type: T.INT, i: value } : { ...base, type: T.FLOAT, f: value };
  }
  if (Array.isArray(value)) return { ...base, type: T.INTS, ints: value };
  if ('float' in value) return { ...base, type: T.FLOAT, f: value.float };
  return { ...base, type: T.FLOATS, floats: value.floats };
}

function tensorType(dims: readonly Dim[], elemType: number): onnx.TypeProto {
  return onnx.TypeProto.fromPartial({
    tensorType: {
      elemType,
      shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
    },
  });
}

/**
 * Collects nodes, initializers, inputs and outputs of one ONNX graph. Names are unique per graph; `fresh`
 * makes one from a base for intermediate values. Weights go in raw_data (little-endian, as ONNX requires).
 */
export class OnnxGraphBuilder {
  private readonly nodes: onnx.NodeProto[] = [];
  private readonly initializers: onnx.TensorProto[] = [];
  private readonly inputs: onnx.ValueInfoProto[] = [];
  private readonly outputs: onnx.ValueInfoProto[] = [];
  private readonly used = new Set<string>();

  /** A name not used yet, derived from `base`. */
  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Keeps `name` out of what `fresh` hands out (graph outputs keep their layer's exact name). */
  reserve(name: string): void {
    this.used.add(name);
  }

  node(opType: string, inputs: string[], outputs: string[], attrs: Record<string, AttributeValue> = {}, name?: string): void {
    this.nodes.push(onnx.NodeProto.fromPartial({
      opType, input: inputs, output: outputs, name: name ?? this.fresh(`${outputs[0]}_${opType}`),
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    }));
  }

  /** One node with one fresh output named after `base`; returns that output's name. */
  op(opType: string, inputs: string[], base: string, attrs: Record<string, AttributeValue> = {}): string {
    const out = this.fresh(base);
    this.node(opType, inputs, [out], attrs);
    return out;
  }

  floatInitializer(base: string, dims: number[], data: Float32Array): string {
    const name = this.fresh(base);
    const raw = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.initializers.push(onnx.TensorProto.fromPartial({ name, dims, dataType: FLOAT, rawData: Buffer.from(raw) }));
    return name;
  }

  int64Initializer(base: string, values: number[]): string {
    const name = this.fresh(base);
    const data = new BigInt64Array(values.map((v) => BigInt(v)));
    this.initializers.push(onnx.TensorProto.fromPartial({ name, dims: [values.length], dataType: INT64, rawData: Buffer.from(data.buffer) }));
    return name;
  }

  input(name: string, dims: readonly Dim[]): string {
    this.used.add(name);
    this.inputs.push(onnx.ValueInfoProto.fromPartial({ name, type: tensorType(dims, FLOAT) }));
    return name;
  }

  output(name: string, dims: readonly Dim[]): void {
    this.outputs.push(onnx.ValueInfoProto.fromPartial({ name, type: tensorType(dims, FLOAT) }));
  }

  graph(name: string): onnx.GraphProto {
    return onnx.GraphProto.fromPartial({
      name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs,
    });
  }
}

/** A whole model around a graph: IR version, the default-domain opset, producer and metadata_props. */
export function onnxModel(graph: onnx.GraphProto, metadata: Record<string, string>, producerVersion: string, docString: string): onnx.ModelProto {
  return onnx.ModelProto.fromPartial({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'selftrain',
    producerVersion,
    docString,
    graph,
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  });
}
