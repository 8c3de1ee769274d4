import { InputError } from '@selftrain/errors';
import type { CheckedTeacherModel } from './teacher-contract';

/** A decoded image as the datasets hold it: uint8, HWC, `channels` 1 or 3 (an ImageRecord is one). */
export interface PixelImage {
  image: Uint8Array;
  height: number;
  width: number;
  channels: number;
}

export interface ClassifyOptions {
  /** Images per model call (a model with a fixed batch size uses its own); default 64. */
  batchSize?: number;
  /** Softmax temperature (soft labels; < 1 sharpens); default 1. */
  temperature?: number;
  /** Column classMap[k] gets model output k (mapTeacherClasses: the dataset's class order); default k. */
  classMap?: readonly number[];
}

/**
 * A classification teacher that is not a checkpoint, as the labeler, the evaluator and `selftrain predict`
 * use one: OnnxTeacher (onnxruntime-node) and TfjsTeacher (a stock TF.js model), each opened by
 * TeacherModelCache from the source its TeacherModel names.
 */
export interface ClassTeacher {
  /** Output index k is classNames[k]. */
  readonly classNames: readonly string[];
  /** The engine that runs it when it is not the service's own TF.js backend (onnxruntime); undefined: that backend. */
  readonly engine?: string;
  classProbabilities(images: readonly PixelImage[], options?: ClassifyOptions): Promise<Float32Array>;
  release(): Promise<void>;
}

/** What a model itself says about one of its inputs: a size per axis, or undefined where free. */
export interface ModelInput { name: string; dims: (number | undefined)[] }

/** The input a contract feeds, as checked against the model: its name, channel count and fixed batch (0 = free). */
export interface TeacherInput { name: string; channels: number; fixedBatch: number }

/**
 * The model's input the contract names (or its only one), checked against the declared preprocessing: an
 * image input of 4 dimensions whose fixed sizes are the declared ones in the declared layout, of 1 or 3
 * channels (the model's, or the contract's mean/std count, or 3 where free). A mismatch is an InputError
 * naming the contract's field under `field`; `noun` is what the model is called in it ("graph", "model").
 */
export function fitTeacherInput(inputs: readonly ModelInput[], contract: CheckedTeacherModel, field: string, noun: string): TeacherInput {
  const p = contract.preprocess;
  const input = p.input ? inputs.find((i) => i.name === p.input) : inputs.length === 1 ? inputs[0] : undefined;
  if (!input) {
    const names = inputs.map((i) => i.name).join(', ');
    throw new InputError(`${field}.preprocess.input`, p.input ? `the ${noun} has no input ${JSON.stringify(p.input)} (its inputs: ${names})` : `the ${noun} has ${inputs.length} inputs (${names}): name one`);
  }
  if (input.dims.length !== 4) throw new InputError(`${field}.preprocess.input`, `${input.name} has ${input.dims.length} dimensions; an image input has 4`);
  const [batch, a, b, c] = input.dims;
  const [h, w, ch] = p.layout === 'NCHW' ? [b, c, a] : [a, b, c];
  for (const [got, want, k] of [[h, p.height, 'height'], [w, p.width, 'width']] as const) {
    if (got !== undefined && got !== want) throw new InputError(`${field}.preprocess.${k}`, `is ${want}, but the ${noun}'s input ${input.name} takes ${got} (layout ${p.layout})`);
  }
  const declared = Math.max(p.mean.length, p.std.length);
  const channels = ch ?? (declared > 1 ? declared : 3);
  if (channels !== 1 && channels !== 3) throw new InputError(`${field}.preprocess.layout`, `the ${noun}'s input ${input.name} has ${channels} channels in layout ${p.layout}; 1 or 3 are supported`);
  for (const k of ['mean', 'std'] as const) {
    if (p[k].length > 1 && p[k].length !== channels) throw new InputError(`${field}.preprocess.${k}`, `has ${p[k].length} values for a model of ${channels} channel(s)`);
  }
  return { name: input.name, channels, fixedBatch: batch ?? 0 };
}

/** One model call: a float32 batch laid out as the contract says -> the output's data and dims. */
export type RunTeacherBatch = (data: Float32Array, shape: number[]) => Promise<{ data: Float32Array; dims: number[] }>;

/**
 * Class probabilities for `images`, row-major [images.length, K], column k = classNames[k] (or
 * options.classMap[k]): images go through `run` in batches (padded to a fixed batch), each laid out by
 * writeTeacherInput; an output that is not [n, K] is an InputError naming teacher_model.class_names.
 */
export async function classifyInBatches(
  images: readonly PixelImage[], options: ClassifyOptions, contract: CheckedTeacherModel, input: TeacherInput, outputName: string, run: RunTeacherBatch,
): Promise<Float32Array> {
  const K = contract.classNames.length;
  const temperature = options.temperature ?? 1;
  const batch = input.fixedBatch || Math.max(1, options.batchSize ?? 64);
  const p = contract.preprocess;
  const size = p.height * p.width * input.channels;
  const out = new Float32Array(images.length * K);
  for (let start = 0; start < images.length; start += batch) {
    const chunk = images.slice(start, start + batch);
    const n = input.fixedBatch || chunk.length;
    const data = new Float32Array(n * size);
    chunk.forEach((img, i) => writeTeacherInput(data.subarray(i * size, (i + 1) * size), img, p, input.channels));
    const shape = p.layout === 'NCHW' ? [n, input.channels, p.height, p.width] : [n, p.height, p.width, input.channels];
    const raw = await run(data, shape);
    if (raw.dims.length !== 2 || raw.dims[0] !== n || raw.dims[1] !== K) {
      throw new InputError('teacher_model.class_names', `lists ${K} classes; the output ${outputName} has shape [${raw.dims.join(', ')}] for ${n} image(s), expected [${n}, ${K}]`);
    }
    const row = new Float32Array(K);
    for (let i = 0; i < chunk.length; i++) {
      toProbabilities(raw.data.subarray(i * K, (i + 1) * K), contract.output.kind === 'logits', temperature, row);
      const at = (start + i) * K;
      for (let k = 0; k < K; k++) out[at + (options.classMap ? options.classMap[k] : k)] = row[k];
    }
  }
  return out;
}

/** softmax(z / T) for logits; for probabilities p itself (T = 1) or softmax(log p / T). */
export function toProbabilities(row: Float32Array, logits: boolean, temperature: number, out: Float32Array): void {
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
