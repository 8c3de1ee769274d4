import { tf } from '@selftrain/compute';
import { InputError } from '@selftrain/errors';
import type { DetectFn, SegmentationPredictFn } from '@selftrain/train';
import { writeTeacherInput, type ModelInput, type PixelImage } from './class-teacher';
import { checkOutputKindForTask, mapDenseTeacherClasses, type CheckedTeacherModel } from './teacher-contract';

export type DenseTask = 'detection' | 'segmentation';

/** torchvision's detector outputs, by the names its export gives them (teacher_model.output.name overrides, "boxes,scores,labels"). */
const DETECTION_OUTPUTS = ['boxes', 'scores', 'labels'] as const;

/**
 * A user's detection or segmentation model (an ONNX file on onnxruntime, a stock TF.js model on TF.js:
 * a DenseTeacherGraph), read by the TeacherModel contract:
 * - detection (output kind 'boxes'), as torchvision's exported detectors give it: one image per run (input
 *   [C, H, W], or [1, C, H, W]); outputs `boxes` [D, 4] (x1, y1, x2, y2 in the model input's pixels),
 *   `scores` [D], `labels` [D] (int64 or float; label k is class_names[k]), after the model's own NMS;
 *   a leading batch axis of 1 is allowed on each;
 * - segmentation (logits or probabilities): a batch per run, output [N, K, h, w] (layout NCHW, torchvision's
 *   `out`) or [N, h, w, K] (NHWC), at any h x w: resized (bilinear) to each image's size.
 * Each image gets the contract's preprocessing (writeTeacherInput: resize, channel order, scale, mean/std).
 */
/** A model's outputs by name: data (float, or int64 labels) and dims. */
export type DenseOutputs = Record<string, { data: ArrayLike<number | bigint>; dims: readonly number[] }>;

/**
 * What runs a user's detection or segmentation model, whatever the engine (onnxruntime for an ONNX file,
 * TF.js for a stock TF.js model): what the model says about its inputs and outputs, and one call.
 */
export interface DenseTeacherGraph {
  readonly inputs: readonly ModelInput[];
  readonly outputNames: readonly string[];
  /** The engine, for responses (undefined: the service's own TF.js backend). */
  readonly engine?: string;
  /** What the model is called in errors ("graph", "model"). */
  readonly noun: string;
  run(input: { name: string; data: Float32Array; shape: number[] }, outputs: readonly string[]): Promise<DenseOutputs>;
  release(): Promise<void>;
}

export class DenseTeacher {
  private constructor(
    private readonly graph: DenseTeacherGraph,
    readonly contract: CheckedTeacherModel,
    readonly task: DenseTask,
    private readonly input: ModelInput,
    private readonly channels: number,
    private readonly outputs: readonly string[],
  ) {}

  get engine(): string | undefined {
    return this.graph.engine;
  }

  /**
   * `graph` under `contract` for `task`; what does not fit (an output kind the task cannot read, no such
   * input or outputs, another rank or channel count) is an InputError naming the contract's field under
   * `field`, and the graph is released.
   */
  static async open(graph: DenseTeacherGraph, contract: CheckedTeacherModel, task: DenseTask, field = 'teacher_model'): Promise<DenseTeacher> {
    try {
      return DenseTeacher.check(graph, contract, task, field);
    } catch (err) {
      await graph.release();
      throw err;
    }
  }

  private static check(graph: DenseTeacherGraph, contract: CheckedTeacherModel, task: DenseTask, field: string): DenseTeacher {
    checkOutputKindForTask(contract.output.kind, task, `${field}.output.kind`);
    const { inputs, noun } = graph;
    const p = contract.preprocess;
    const input = p.input ? inputs.find((i) => i.name === p.input) : inputs.length === 1 ? inputs[0] : undefined;
    if (!input) {
      const names = inputs.map((i) => i.name).join(', ');
      throw new InputError(`${field}.preprocess.input`, p.input ? `the ${noun} has no input ${JSON.stringify(p.input)} (its inputs: ${names})` : `the ${noun} has ${inputs.length} inputs (${names}): name one`);
    }
    const ranks = task === 'detection' ? [3, 4] : [4];
    if (!ranks.includes(input.dims.length)) {
      throw new InputError(`${field}.preprocess.input`, `${input.name} has ${input.dims.length} dimensions; a ${task} teacher's image input has ${ranks.join(' or ')}`);
    }
    const image = input.dims.slice(-3);
    const ch = p.layout === 'NCHW' ? image[0] : image[2];
    const declared = Math.max(p.mean.length, p.std.length);
    const channels = ch ?? (declared > 1 ? declared : 3);
    if (channels !== 1 && channels !== 3) throw new InputError(`${field}.preprocess.layout`, `the ${noun}'s input ${input.name} has ${channels} channels in layout ${p.layout}; 1 or 3 are supported`);
    const named = contract.output.name ? contract.output.name.split(',').map((n) => n.trim()) : undefined;
    const outputs = task === 'detection' ? named ?? [...DETECTION_OUTPUTS] : [named?.[0] ?? graph.outputNames[0]];
    const missing = outputs.filter((o) => !graph.outputNames.includes(o));
    if ((task === 'detection' && outputs.length !== 3) || missing.length > 0) {
      throw new InputError(`${field}.output.name`, task === 'detection'
        ? `a detection teacher reads three outputs, boxes, scores and labels (output.name "boxes,scores,labels" names them otherwise); the ${noun} has ${graph.outputNames.join(', ')}`
        : `the ${noun} has no output ${JSON.stringify(missing[0])} (its outputs: ${graph.outputNames.join(', ')})`);
    }
    return new DenseTeacher(graph, contract, task, input, channels, outputs);
  }

  /**
   * A DetectFn over the dataset's classes (class 0 the background): each image's boxes as normalized
   * corners (the model input is the image stretched to the contract's size, so its pixels / its size are
   * the image's), classes mapped by name; boxes of classes the dataset lacks, and degenerate ones, dropped.
   */
  detector(datasetClasses: readonly string[]): DetectFn {
    const classMap = mapDenseTeacherClasses(this.contract.classNames, datasetClasses, 'detection');
    const p = this.contract.preprocess;
    return async (images) => {
      const out = [];
      for (const image of await pixelImages(images)) {
        const r = await this.run([image]);
        const [boxes, scores, labels] = this.outputs.map((name) => r[name]);
        const d = scores.data.length;
        if (boxes.data.length !== d * 4 || labels.data.length !== d) {
          throw new InputError('teacher_model.output.name', `boxes [${boxes.dims.join(', ')}], scores [${scores.dims.join(', ')}], labels [${labels.dims.join(', ')}]: expected [D, 4], [D], [D]`);
        }
        const found = [];
        for (let i = 0; i < d; i++) {
          const k = Number(labels.data[i]);
          const label = Number.isInteger(k) && k >= 0 && k < classMap.length ? classMap[k] : -1;
          if (label < 1) continue;
          const b = Array.from({ length: 4 }, (_, j) => Number(boxes.data[i * 4 + j]));
          const clip = (v: number, size: number) => Math.min(1, Math.max(0, v / size));
          const box = { xmin: clip(b[0], p.width), ymin: clip(b[1], p.height), xmax: clip(b[2], p.width), ymax: clip(b[3], p.height) };
          if (box.xmax <= box.xmin || box.ymax <= box.ymin) continue;
          found.push({ ...box, score: Number(scores.data[i]), label });
        }
        out.push(found.sort((a, b) => b.score - a.score));
      }
      return out;
    };
  }

  /**
   * A SegmentationPredictFn over the dataset's classes: per-pixel probabilities [B, H, W, K] at the images'
   * size (softmax of logits), teacher class k in the dataset's column of the same name; a teacher class the
   * dataset lacks adds to no column, so its pixels fall under the labeler's threshold (ignored).
   */
  segmenter(datasetClasses: readonly string[]): SegmentationPredictFn {
    const classMap = mapDenseTeacherClasses(this.contract.classNames, datasetClasses, 'segmentation');
    const kd = datasetClasses.length;
    const kt = classMap.length;
    const nchw = this.contract.preprocess.layout === 'NCHW';
    const logits = this.contract.output.kind === 'logits';
    return async (images) => {
      const [n, H, W] = images.shape;
      const r = await this.runBatched(await pixelImages(images));
      const [b, a1, a2, a3] = r.dims;
      const [k, h, w] = nchw ? [a1, a2, a3] : [a3, a1, a2];
      if (r.dims.length !== 4 || b !== n || k !== kt) {
        throw new InputError('teacher_model.output.name', `${this.outputs[0]} has shape [${r.dims.join(', ')}]; a segmentation teacher of ${kt} classes gives [${n}, ${nchw ? `${kt}, h, w` : `h, w, ${kt}`}] (layout ${this.contract.preprocess.layout})`);
      }
      const probs = new Float32Array(n * h * w * kd);
      // Per pixel, in place (a softmax per row, as toProbabilities does, without its allocations: a mask has
      // H x W rows), each teacher class added to its dataset column.
      const row = new Float64Array(kt);
      for (let i = 0; i < n * h * w; i++) {
        const [img, pix] = [Math.floor(i / (h * w)), i % (h * w)];
        let max = -Infinity;
        for (let c = 0; c < kt; c++) {
          row[c] = Number(r.data[nchw ? (img * kt + c) * h * w + pix : i * kt + c]);
          max = Math.max(max, row[c]);
        }
        let sum = 0;
        if (logits) for (let c = 0; c < kt; c++) sum += row[c] = Math.exp(row[c] - max);
        for (let c = 0; c < kt; c++) if (classMap[c] >= 0) probs[i * kd + classMap[c]] += logits ? row[c] / sum : row[c];
      }
      return tf.tidy(() => {
        const t = tf.tensor4d(probs, [n, h, w, kd]);
        return h === H && w === W ? t : tf.image.resizeBilinear(t, [H, W], false, true);
      });
    };
  }

  release(): Promise<void> {
    return this.graph.release();
  }

  /** The first output for a batch: in one run, or image by image for a graph whose batch is fixed at 1 (joined on axis 0). */
  private async runBatched(images: readonly PixelImage[]): Promise<{ data: ArrayLike<number | bigint>; dims: readonly number[] }> {
    if (this.input.dims[0] !== 1 || images.length === 1) return (await this.run(images))[this.outputs[0]];
    const parts = [];
    for (const image of images) parts.push((await this.run([image]))[this.outputs[0]]);
    const data = parts.flatMap((part) => Array.from(part.data as ArrayLike<number>));
    return { data, dims: [images.length, ...parts[0].dims.slice(1)] };
  }

  /** Images through the contract's preprocessing, one batch (or one image for a rank-3 input), every output back. */
  private async run(images: readonly PixelImage[]): Promise<DenseOutputs> {
    const p = this.contract.preprocess;
    const size = p.height * p.width * this.channels;
    const data = new Float32Array(images.length * size);
    images.forEach((img, i) => writeTeacherInput(data.subarray(i * size, (i + 1) * size), img, p, this.channels));
    const image = p.layout === 'NCHW' ? [this.channels, p.height, p.width] : [p.height, p.width, this.channels];
    const shape = this.input.dims.length === 3 ? image : [images.length, ...image];
    try {
      return await this.graph.run({ name: this.input.name, data, shape }, this.outputs);
    } catch (err) {
      if (err instanceof InputError) throw err;
      throw new InputError('teacher_model.preprocess', `the model cannot run on [${shape.join(', ')}] float32 (${p.layout}): ${(err as Error).message.slice(0, 300)}`, { cause: err });
    }
  }
}

/**
 * The batch's pixels back as uint8 images: detection and segmentation batches are the records' pixels / 255
 * (imagesToTensor without channel statistics), so rounding x * 255 gives each pixel exactly.
 */
async function pixelImages(images: tf.Tensor4D): Promise<PixelImage[]> {
  const [n, height, width, channels] = images.shape;
  const data = await images.data();
  const per = height * width * channels;
  return Array.from({ length: n }, (_, i) => ({
    image: Uint8Array.from(data.subarray(i * per, (i + 1) * per) as Float32Array, (v) => Math.round(v * 255)),
    height, width, channels,
  }));
}
