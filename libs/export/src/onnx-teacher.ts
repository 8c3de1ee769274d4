import * as ort from 'onnxruntime-node';
import { InputError } from '@selftrain/errors';
import { onnx } from '@selftrain/proto';
import { openOnnxSession } from './onnx-session';
import type { CheckedTeacherModel } from './teacher-contract';

/** A decoded image as the datasets hold it: uint8, HWC, `channels` 1 or 3 (an ImageRecord is one). */
export interface PixelImage {
  image: Uint8Array;
  height: number;
  width: number;
  channels: number;
}

export interface ClassifyOptions {
  /** Images per onnxruntime call (a graph with a fixed batch size uses its own); default 64. */
  batchSize?: number;
  /** Softmax temperature (soft labels; < 1 sharpens); default 1. */
  temperature?: number;
  /** Column classMap[k] gets model output k (mapTeacherClasses: the dataset's class order); default k. */
  classMap?: readonly number[];
}

/**
 * A classification teacher that is not a checkpoint, as the labeler, the evaluator and `selftrain predict`
 * use one: OnnxTeacher today; a stock TF.js model can implement the same.
 */
export interface ClassTeacher {
  /** Output index k is classNames[k]. */
  readonly classNames: readonly string[];
  classProbabilities(images: readonly PixelImage[], options?: ClassifyOptions): Promise<Float32Array>;
  release(): Promise<void>;
}

/** What the graph itself says about the input the contract names: a size per axis, or undefined where free. */
export interface GraphInput { name: string; dims: (number | undefined)[] }

export function graphInputs(bytes: Uint8Array): GraphInput[] {
  const graph = onnx.ModelProto.decode(bytes).graph;
  const weights = new Set((graph?.initializer ?? []).map((t) => t.name ?? ''));
  return (graph?.input ?? []).filter((i) => !weights.has(i.name ?? '')).map((i) => ({
    name: i.name ?? '',
    dims: (i.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimValue !== undefined && d.dimValue > 0 ? d.dimValue : undefined)),
  }));
}

/**
 * A user's classification model on onnxruntime-node (CPU provider), with the contract a TeacherModel
 * declares: each image is resized (bilinear, half-pixel centres) to the declared size, its channels put in
 * the declared order (grey repeated when the model takes 3), scaled, normalised, laid out NCHW or NHWC;
 * the output ([N, K] logits or probabilities) becomes probabilities in the model's class order.
 * Open with `openOnnxTeacher`; release with `release()`.
 */
export class OnnxTeacher implements ClassTeacher {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly contract: CheckedTeacherModel,
    private readonly inputName: string,
    private readonly outputName: string,
    /** The model's channel count (from the graph, or the contract's mean/std, or 3). */
    readonly channels: number,
    /** The graph's fixed batch size, or 0 when free. */
    private readonly fixedBatch: number,
  ) {}

  /** The model's classes: output index k is classNames[k]. */
  get classNames(): readonly string[] {
    return this.contract.classNames;
  }

  /**
   * Opens `bytes` (an ONNX file) under `contract`; a graph that does not fit the contract (no such input
   * or output, another size or channel count than declared) is an InputError naming the contract's field
   * under `field`.
   */
  static async open(bytes: Uint8Array, contract: CheckedTeacherModel, field = 'teacher_model'): Promise<OnnxTeacher> {
    let inputs: GraphInput[];
    try {
      inputs = graphInputs(bytes);
    } catch (err) {
      throw new InputError(`${field}.model`, `is not an ONNX model: ${(err as Error).message}`);
    }
    const p = contract.preprocess;
    const input = p.input ? inputs.find((i) => i.name === p.input) : inputs.length === 1 ? inputs[0] : undefined;
    if (!input) {
      const names = inputs.map((i) => i.name).join(', ');
      throw new InputError(`${field}.preprocess.input`, p.input ? `the graph has no input ${JSON.stringify(p.input)} (its inputs: ${names})` : `the graph has ${inputs.length} inputs (${names}): name one`);
    }
    if (input.dims.length !== 4) throw new InputError(`${field}.preprocess.input`, `${input.name} has ${input.dims.length} dimensions; an image input has 4`);
    const [batch, a, b, c] = input.dims;
    const [h, w, ch] = p.layout === 'NCHW' ? [b, c, a] : [a, b, c];
    for (const [got, want, k] of [[h, p.height, 'height'], [w, p.width, 'width']] as const) {
      if (got !== undefined && got !== want) throw new InputError(`${field}.preprocess.${k}`, `is ${want}, but the graph's input ${input.name} takes ${got} (layout ${p.layout})`);
    }
    const declared = Math.max(p.mean.length, p.std.length);
    const channels = ch ?? (declared > 1 ? declared : 3);
    if (channels !== 1 && channels !== 3) throw new InputError(`${field}.preprocess.layout`, `the graph's input ${input.name} has ${channels} channels in layout ${p.layout}; 1 or 3 are supported`);
    for (const k of ['mean', 'std'] as const) {
      if (p[k].length > 1 && p[k].length !== channels) throw new InputError(`${field}.preprocess.${k}`, `has ${p[k].length} values for a model of ${channels} channel(s)`);
    }
    let session: ort.InferenceSession;
    try {
      session = await openOnnxSession(bytes);
    } catch (err) {
      throw new InputError(`${field}.model`, `onnxruntime cannot load it: ${(err as Error).message.slice(0, 300)}`, { cause: err });
    }
    const outputName = contract.output.name || session.outputNames[0];
    if (!session.outputNames.includes(outputName)) {
      await session.release();
      throw new InputError(`${field}.output.name`, `the graph has no output ${JSON.stringify(outputName)} (its outputs: ${session.outputNames.join(', ')})`);
    }
    return new OnnxTeacher(session, contract, input.name, outputName, channels, batch ?? 0);
  }

  /**
   * Class probabilities for `images`, row-major [images.length, K], column k = classNames[k] (or
   * options.classMap[k]). A 3-channel image for a 1-channel model is an InputError naming the layout.
   */
  async classProbabilities(images: readonly PixelImage[], options: ClassifyOptions = {}): Promise<Float32Array> {
    const K = this.contract.classNames.length;
    const temperature = options.temperature ?? 1;
    const batch = this.fixedBatch || Math.max(1, options.batchSize ?? 64);
    const out = new Float32Array(images.length * K);
    for (let start = 0; start < images.length; start += batch) {
      const chunk = images.slice(start, start + batch);
      const n = this.fixedBatch || chunk.length;
      const raw = await this.run(chunk, n);
      if (raw.dims.length !== 2 || raw.dims[0] !== n || raw.dims[1] !== K) {
        throw new InputError('teacher_model.class_names', `lists ${K} classes; the output ${this.outputName} has shape [${raw.dims.join(', ')}] for ${n} image(s), expected [${n}, ${K}]`);
      }
      const row = new Float32Array(K);
      for (let i = 0; i < chunk.length; i++) {
        toProbabilities(raw.data.subarray(i * K, (i + 1) * K), this.contract.output.kind === 'logits', temperature, row);
        const at = (start + i) * K;
        for (let k = 0; k < K; k++) out[at + (options.classMap ? options.classMap[k] : k)] = row[k];
      }
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }

  /** One batch padded to `n` images (a fixed-batch graph), as the contract lays it out. */
  private async run(images: readonly PixelImage[], n: number): Promise<{ data: Float32Array; dims: number[] }> {
    const p = this.contract.preprocess;
    const size = p.height * p.width * this.channels;
    const data = new Float32Array(n * size);
    images.forEach((img, i) => writeTeacherInput(data.subarray(i * size, (i + 1) * size), img, p, this.channels));
    const shape = p.layout === 'NCHW' ? [n, this.channels, p.height, p.width] : [n, p.height, p.width, this.channels];
    let results: ort.InferenceSession.OnnxValueMapType;
    try {
      results = await this.session.run({ [this.inputName]: new ort.Tensor('float32', data, shape) });
    } catch (err) {
      // The graph refused the input its contract declares: the contract (or the model) is wrong, not the service.
      throw new InputError('teacher_model.preprocess', `the model cannot run on [${shape.join(', ')}] float32 (${p.layout}): ${(err as Error).message.slice(0, 300)}`, { cause: err });
    }
    const t = results[this.outputName];
    if (t.type !== 'float32') throw new InputError('teacher_model.output.name', `${this.outputName} is ${t.type}; a classifier's output is float32`);
    return { data: t.data as Float32Array, dims: [...t.dims] };
  }
}

/** Opens a checked TeacherModel's file bytes (see OnnxTeacher.open). */
export function openOnnxTeacher(bytes: Uint8Array, contract: CheckedTeacherModel, field?: string): Promise<OnnxTeacher> {
  return OnnxTeacher.open(bytes, contract, field);
}

/** softmax(z / T) for logits; for probabilities p itself (T = 1) or softmax(log p / T). */
function toProbabilities(row: Float32Array, logits: boolean, temperature: number, out: Float32Array): void {
  if (!logits && temperature === 1) {
    out.set(row);
    return;
  }
  let max = -Infinity;
  const z = Array.from(row, (v) => (logits ? v : Math.log(Math.max(v, 1e-30))) / temperature);
  for (const v of z) max = Math.max(max, v);
  let sum = 0;
  for (let k = 0; k < z.length; k++) sum += (z[k] = Math.exp(z[k] - max));
  for (let k = 0; k < z.length; k++) out[k] = z[k] / sum;
}

/**
 * One image as the model's input ([C,H,W] or [H,W,C] into `out`): bilinear resize with half-pixel centres
 * (PyTorch's align_corners=False) when the size differs, channel order, pixel * scale, (x - mean) / std.
 */
export function writeTeacherInput(out: Float32Array, img: PixelImage, p: CheckedTeacherModel['preprocess'], channels: number): void {
  const { height: H, width: W } = p;
  if (img.channels !== channels && !(img.channels === 1 && channels === 3)) {
    throw new InputError('teacher_model.preprocess.layout', `the model takes ${channels} channel(s); the dataset's images have ${img.channels}`);
  }
  const mean = (c: number) => (p.mean.length === 0 ? 0 : p.mean[p.mean.length === 1 ? 0 : c]);
  const std = (c: number) => (p.std.length === 0 ? 1 : p.std[p.std.length === 1 ? 0 : c]);
  // Model channel c reads source channel src[c]: BGR reverses RGB; a grey image feeds every channel.
  const src = Array.from({ length: channels }, (_, c) => (img.channels === 1 ? 0 : p.channelOrder === 'BGR' ? channels - 1 - c : c));
  const sy = img.height / H;
  const sx = img.width / W;
  const same = img.height === H && img.width === W;
  for (let y = 0; y < H; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), img.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, img.height - 1);
    const wy = fy - y0;
    for (let x = 0; x < W; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), img.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, img.width - 1);
      const wx = fx - x0;
      for (let c = 0; c < channels; c++) {
        const s = src[c];
        const at = (yy: number, xx: number) => img.image[(yy * img.width + xx) * img.channels + s];
        const v = same ? at(y, x) : (at(y0, x0) * (1 - wx) + at(y0, x1) * wx) * (1 - wy) + (at(y1, x0) * (1 - wx) + at(y1, x1) * wx) * wy;
        const value = (v * p.scale - mean(c)) / std(c);
        out[p.layout === 'NCHW' ? (c * H + y) * W + x : (y * W + x) * channels + c] = value;
      }
    }
  }
}
