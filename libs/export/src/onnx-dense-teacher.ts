import * as ort from 'onnxruntime-node';
import { tf } from '@selftrain/compute';
import { InputError } from '@selftrain/errors';
import type { DetectFn, SegmentationPredictFn } from '@selftrain/train';
import { writeTeacherInput, type ModelInput, type PixelImage } from './class-teacher';
import { graphInputs } from './onnx-teacher';
import { ONNX_BACKEND, openOnnxSession } from './onnx-session';
import { checkOutputKindForTask, mapDenseTeacherClasses, type CheckedTeacherModel } from './teacher-contract';

export type DenseTask = 'detection' | 'segmentation';

/** torchvision's detector outputs, by the names its export gives them (teacher_model.output.name overrides, "boxes,scores,labels"). */
const DETECTION_OUTPUTS = ['boxes', 'scores', 'labels'] as const;

/**
 * A user's detection or segmentation model on onnxruntime-node, read by the TeacherModel contract:
 * - detection (output kind 'boxes'), as torchvision's exported detectors give it: one image per run (input
 *   [C, H, W], or [1, C, H, W]); outputs `boxes` [D, 4] (x1, y1, x2, y2 in the model input's pixels),
 *   `scores` [D], `labels` [D] (int64 or float; label k is class_names[k]), after the model's own NMS;
 *   a leading batch axis of 1 is allowed on each;
 * - segmentation (logits or probabilities): a batch per run, output [N, K, h, w] (layout NCHW, torchvision's
 *   `out`) or [N, h, w, K] (NHWC), at any h x w: resized (bilinear) to each image's size.
 * Each image gets the contract's preprocessing (writeTeacherInput: resize, channel order, scale, mean/std).
 */
export class OnnxDenseTeacher {
  readonly engine = ONNX_BACKEND;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly contract: CheckedTeacherModel,
    readonly task: DenseTask,
    private readonly input: ModelInput,
    private readonly channels: number,
    private readonly outputs: readonly string[],
  ) {}

  static async open(bytes: Uint8Array, contract: CheckedTeacherModel, task: DenseTask, field = 'teacher_model'): Promise<OnnxDenseTeacher> {
    checkOutputKindForTask(contract.output.kind, task, `${field}.output.kind`);
    let inputs: ModelInput[];
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
    const ranks = task === 'detection' ? [3, 4] : [4];
    if (!ranks.includes(input.dims.length)) {
      throw new InputError(`${field}.preprocess.input`, `${input.name} has ${input.dims.length} dimensions; a ${task} teacher's image input has ${ranks.join(' or ')}`);
    }
    const image = input.dims.slice(-3);
    const ch = p.layout === 'NCHW' ? image[0] : image[2];
    const declared = Math.max(p.mean.length, p.std.length);
    const channels = ch ?? (declared > 1 ? declared : 3);
    if (channels !== 1 && channels !== 3) throw new InputError(`${field}.preprocess.layout`, `the graph's input ${input.name} has ${channels} channels in layout ${p.layout}; 1 or 3 are supported`);
    let session: ort.InferenceSession;
    try {
      session = await openOnnxSession(bytes);
    } catch (err) {
      throw new InputError(`${field}.model`, `onnxruntime cannot load it: ${(err as Error).message.slice(0, 300)}`, { cause: err });
    }
    const named = contract.output.name ? contract.output.name.split(',').map((n) => n.trim()) : undefined;
    const outputs = task === 'detection' ? named ?? [...DETECTION_OUTPUTS] : [named?.[0] ?? session.outputNames[0]];
    const missing = outputs.filter((o) => !session.outputNames.includes(o));
    if ((task === 'detection' && outputs.length !== 3) || missing.length > 0) {
      await session.release();
      throw new InputError(`${field}.output.name`, task === 'detection'
        ? `a detection teacher reads three outputs, boxes, scores and labels (output.name "boxes,scores,labels" names them otherwise); the graph has ${session.outputNames.join(', ')}`
        : `the graph has no output ${JSON.stringify(missing[0])} (its outputs: ${session.outputNames.join(', ')})`);
    }
    return new OnnxDenseTeacher(session, contract, task, input, channels, outputs);
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

  async release(): Promise<void> {
    await this.session.release();
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
  private async run(images: readonly PixelImage[]): Promise<Record<string, { data: ArrayLike<number | bigint>; dims: readonly number[] }>> {
    const p = this.contract.preprocess;
    const size = p.height * p.width * this.channels;
    const data = new Float32Array(images.length * size);
    images.forEach((img, i) => writeTeacherInput(data.subarray(i * size, (i + 1) * size), img, p, this.channels));
    const image = p.layout === 'NCHW' ? [this.channels, p.height, p.width] : [p.height, p.width, this.channels];
    const shape = this.input.dims.length === 3 ? image : [images.length, ...image];
    let results: ort.InferenceSession.OnnxValueMapType;
    try {
      results = await this.session.run({ [this.input.name]: new ort.Tensor('float32', data, shape) });
    } catch (err) {
      throw new InputError('teacher_model.preprocess', `the model cannot run on [${shape.join(', ')}] float32 (${p.layout}): ${(err as Error).message.slice(0, 300)}`, { cause: err });
    }
    return Object.fromEntries(this.outputs.map((name) => [name, { data: results[name].data as ArrayLike<number | bigint>, dims: results[name].dims }]));
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
