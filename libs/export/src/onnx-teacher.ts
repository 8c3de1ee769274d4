import * as ort from 'onnxruntime-node';
import { InputError } from '@selftrain/errors';
import { onnx } from '@selftrain/proto';
import { classifyInBatches, fitTeacherInput, type ClassifyOptions, type ClassTeacher, type ModelInput, type PixelImage, type TeacherInput } from './class-teacher';
import { ONNX_BACKEND, openOnnxSession } from './onnx-session';
import type { CheckedTeacherModel } from './teacher-contract';

/** The graph's inputs that are not weights, as the contract checks them (fitTeacherInput). */
export function graphInputs(bytes: Uint8Array): ModelInput[] {
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
  readonly engine = ONNX_BACKEND;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly contract: CheckedTeacherModel,
    private readonly input: TeacherInput,
    private readonly outputName: string,
  ) {}

  /** The model's classes: output index k is classNames[k]. */
  get classNames(): readonly string[] {
    return this.contract.classNames;
  }

  /** The model's channel count (from the graph, or the contract's mean/std, or 3). */
  get channels(): number {
    return this.input.channels;
  }

  /**
   * Opens `bytes` (an ONNX file) under `contract`; a graph that does not fit the contract (no such input
   * or output, another size or channel count than declared) is an InputError naming the contract's field
   * under `field`.
   */
  static async open(bytes: Uint8Array, contract: CheckedTeacherModel, field = 'teacher_model'): Promise<OnnxTeacher> {
    let inputs: ModelInput[];
    try {
      inputs = graphInputs(bytes);
    } catch (err) {
      throw new InputError(`${field}.model`, `is not an ONNX model: ${(err as Error).message}`);
    }
    const input = fitTeacherInput(inputs, contract, field, 'graph');
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
    return new OnnxTeacher(session, contract, input, outputName);
  }

  /**
   * Class probabilities for `images`, row-major [images.length, K], column k = classNames[k] (or
   * options.classMap[k]). A 3-channel image for a 1-channel model is an InputError naming the layout.
   */
  classProbabilities(images: readonly PixelImage[], options: ClassifyOptions = {}): Promise<Float32Array> {
    return classifyInBatches(images, options, this.contract, this.input, this.outputName, (data, shape) => this.run(data, shape));
  }

  async release(): Promise<void> {
    await this.session.release();
  }

  private async run(data: Float32Array, shape: number[]): Promise<{ data: Float32Array; dims: number[] }> {
    let results: ort.InferenceSession.OnnxValueMapType;
    try {
      results = await this.session.run({ [this.input.name]: new ort.Tensor('float32', data, shape) });
    } catch (err) {
      // The graph refused the input its contract declares: the contract (or the model) is wrong, not the service.
      throw new InputError('teacher_model.preprocess', `the model cannot run on [${shape.join(', ')}] float32 (${this.contract.preprocess.layout}): ${(err as Error).message.slice(0, 300)}`, { cause: err });
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
