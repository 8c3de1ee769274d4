import { tf } from '@selftrain/compute';
import { CorruptDataError, FailedPreconditionError, InputError, NotFoundError } from '@selftrain/errors';
import { isGraphModelJson, MODEL_JSON_FILE, readTfjsModelFiles, weightBuffer, type TfjsModelFiles } from '@selftrain/storage';
import { classifyInBatches, fitTeacherInput, type ClassifyOptions, type ClassTeacher, type ModelInput, type PixelImage, type TeacherInput } from './class-teacher';
import type { DenseTeacherGraph } from './dense-teacher';
import type { CheckedTeacherModel } from './teacher-contract';

type Loaded = { format: 'LayersModel'; model: tf.LayersModel } | { format: 'GraphModel'; model: tf.GraphModel };

/** A size per axis (undefined where free: null in a LayersModel, -1 in a GraphDef); a GraphDef input without a shape is any 4-d. */
const dimsOf = (shape: readonly (number | null)[] | undefined): (number | undefined)[] =>
  shape ? shape.map((d) => (d == null || d < 0 ? undefined : d)) : [undefined, undefined, undefined, undefined];

// A LayersModel's inputs and outputs are named by their layers (a Sequential's inputNames and outputNames are empty).
function inputsOf(m: Loaded): ModelInput[] {
  return m.format === 'LayersModel'
    ? m.model.inputs.map((t) => ({ name: t.sourceLayer.name, dims: dimsOf(t.shape) }))
    : m.model.inputs.map((t) => ({ name: t.name, dims: dimsOf(t.shape) }));
}

function outputsOf(m: Loaded): { name: string; dims?: (number | undefined)[] }[] {
  return m.format === 'LayersModel'
    ? m.model.outputs.map((t) => ({ name: t.sourceLayer.name, dims: dimsOf(t.shape) }))
    : m.model.outputs.map((t) => ({ name: t.name, dims: t.shape ? dimsOf(t.shape) : undefined }));
}

/** model.json's kind decides the loader: tf.loadGraphModel for a GraphDef, tf.loadLayersModel otherwise; what TF.js refuses names `${field}.model`. */
async function loadTfjsModel(files: TfjsModelFiles, field: string): Promise<Loaded> {
  const specs = files.modelJson.weightsManifest.flatMap((g) => g.weights);
  const handler: tf.io.IOHandler = { load: () => tf.io.getModelArtifactsForJSON(files.modelJson, async () => [specs, weightBuffer(files)]) };
  const format = isGraphModelJson(files.modelJson) ? 'GraphModel' : 'LayersModel';
  try {
    return format === 'GraphModel' ? { format, model: await tf.loadGraphModel(handler) } : { format, model: await tf.loadLayersModel(handler) };
  } catch (err) {
    const why = (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 300);
    throw new InputError(`${field}.model`, `TF.js cannot load it as a ${format}: ${why}`, { cause: err });
  }
}

/**
 * A stock TF.js model as a DenseTeacher runs it (detection, segmentation): every named output of one call,
 * a GraphModel through execute (executeAsync where TF.js asks for it), a LayersModel through predict.
 */
export async function tfjsDenseGraph(files: TfjsModelFiles, field: string): Promise<DenseTeacherGraph> {
  const loaded = await loadTfjsModel(files, field);
  return {
    inputs: inputsOf(loaded), outputNames: outputsOf(loaded).map((o) => o.name), noun: 'model',
    async run(input, outputs) {
      const x = tf.tensor(input.data, input.shape, 'float32');
      let ys: tf.Tensor[];
      try {
        if (loaded.format === 'GraphModel') {
          const feeds = { [input.name]: x };
          let out: tf.Tensor | tf.Tensor[];
          try {
            out = loaded.model.execute(feeds, [...outputs]);
          } catch (err) {
            if (!/executeAsync/.test(err instanceof Error ? err.message : String(err))) throw err;
            out = await loaded.model.executeAsync(feeds, [...outputs]);
          }
          ys = Array.isArray(out) ? out : [out];
        } else {
          const m = loaded.model;
          const out = m.predict(x);
          const all = Array.isArray(out) ? out : [out];
          ys = outputs.map((name) => all[m.outputs.findIndex((t) => t.sourceLayer.name === name)]);
          tf.dispose(all.filter((t) => !ys.includes(t)));
        }
      } finally {
        x.dispose();
      }
      try {
        const datas = await Promise.all(ys.map((y) => y.data()));
        return Object.fromEntries(outputs.map((name, i) => [name, { data: datas[i] as ArrayLike<number>, dims: [...ys[i].shape] }]));
      } finally {
        tf.dispose(ys);
      }
    },
    release: async () => { loaded.model.dispose(); },
  };
}

/**
 * A user's classification model in TF.js (tfjs-converter's or Keras's model.json + weight files), run by
 * the project's tf namespace on the service's backend with the contract a TeacherModel declares: the same
 * preprocessing and output rules as OnnxTeacher (class-teacher.ts). model.json says which kind it is: a
 * GraphModel (`format: "graph-model"`, a GraphDef of ops) loads with tf.loadGraphModel, anything else
 * (a LayersModel: Keras's `layers-model`, or selftrain's own checkpoints and `selftrain export --format
 * tfjs`, whose model.json carries a Keras topology) with tf.loadLayersModel. Layers must be stock TF.js
 * (or registered in the process). Open with `TfjsTeacher.open`; release with `release()`.
 */
export class TfjsTeacher implements ClassTeacher {
  /** A GraphModel that only executeAsync runs (found on the first batch). */
  private asyncGraph = false;

  private constructor(
    private readonly loaded: Loaded,
    readonly contract: CheckedTeacherModel,
    private readonly input: TeacherInput,
    private readonly outputName: string,
  ) {}

  get classNames(): readonly string[] {
    return this.contract.classNames;
  }

  /** How model.json was loaded. */
  get format(): Loaded['format'] {
    return this.loaded.format;
  }

  /**
   * Loads `files` (readTfjsTeacherFiles) under `contract`; a model TF.js cannot build, or that does not
   * fit the contract (no such input or output, another rank, size or channel count than declared, an
   * output that is not [batch, class_names.length]), is an InputError naming the contract's field under `field`.
   */
  static async open(files: TfjsModelFiles, contract: CheckedTeacherModel, field = 'teacher_model'): Promise<TfjsTeacher> {
    const loaded = await loadTfjsModel(files, field);
    try {
      const input = fitTeacherInput(inputsOf(loaded), contract, field, 'model');
      const dtype = loaded.format === 'GraphModel' ? loaded.model.inputs.find((t) => t.name === input.name)?.dtype : 'float32';
      if (dtype && dtype !== 'float32') throw new InputError(`${field}.preprocess.input`, `the model's input ${input.name} is ${dtype}; a teacher's input is float32`);
      const outputs = outputsOf(loaded);
      const outputName = contract.output.name || outputs[0].name;
      const output = outputs.find((o) => o.name === outputName);
      if (!output) throw new InputError(`${field}.output.name`, `the model has no output ${JSON.stringify(outputName)} (its outputs: ${outputs.map((o) => o.name).join(', ')})`);
      // Checked again on every batch; here where the model states its output shape, before any image runs.
      const K = contract.classNames.length;
      if (output.dims && (output.dims.length !== 2 || (output.dims[1] !== undefined && output.dims[1] !== K))) {
        const shape = output.dims.map((d) => d ?? 'batch').join(', ');
        throw new InputError(`${field}.class_names`, `lists ${K} classes; the model's output ${outputName} has shape [${shape}], expected [batch, ${K}]`);
      }
      return new TfjsTeacher(loaded, contract, input, outputName);
    } catch (err) {
      loaded.model.dispose();
      throw err;
    }
  }

  /**
   * Class probabilities for `images`, row-major [images.length, K], column k = classNames[k] (or
   * options.classMap[k]).
   */
  classProbabilities(images: readonly PixelImage[], options: ClassifyOptions = {}): Promise<Float32Array> {
    return classifyInBatches(images, options, this.contract, this.input, this.outputName, (data, shape) => this.run(data, shape));
  }

  async release(): Promise<void> {
    this.loaded.model.dispose();
  }

  /**
   * execute, or executeAsync for a graph that needs it (control flow, dynamic shapes): TF.js refuses such a
   * graph in execute, naming executeAsync, and prints a warning when executeAsync runs one that does not.
   */
  private async executeGraph(model: tf.GraphModel, feeds: tf.NamedTensorMap): Promise<tf.Tensor> {
    if (!this.asyncGraph) {
      try {
        return model.execute(feeds, this.outputName) as tf.Tensor;
      } catch (err) {
        if (!/executeAsync/.test(err instanceof Error ? err.message : String(err))) throw err;
        this.asyncGraph = true;
      }
    }
    return (await model.executeAsync(feeds, this.outputName)) as tf.Tensor;
  }

  private async run(data: Float32Array, shape: number[]): Promise<{ data: Float32Array; dims: number[] }> {
    const x = tf.tensor(data, shape, 'float32');
    let y: tf.Tensor | undefined;
    try {
      if (this.loaded.format === 'GraphModel') {
        y = await this.executeGraph(this.loaded.model, { [this.input.name]: x });
      } else {
        const m = this.loaded.model;
        const out = m.predict(x);
        const all = Array.isArray(out) ? out : [out];
        y = all[m.outputs.findIndex((t) => t.sourceLayer.name === this.outputName)];
        tf.dispose(all.filter((t) => t !== y));
      }
    } catch (err) {
      // The model refused the input its contract declares: the contract (or the model) is wrong, not the service.
      const why = (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 300);
      throw new InputError('teacher_model.preprocess', `the model cannot run on [${shape.join(', ')}] float32 (${this.contract.preprocess.layout}): ${why}`, { cause: err });
    } finally {
      x.dispose();
    }
    try {
      if (y.dtype !== 'float32') throw new InputError('teacher_model.output.name', `${this.outputName} is ${y.dtype}; a classifier's output is float32`);
      return { data: (await y.data()) as Float32Array, dims: [...y.shape] };
    } finally {
      y.dispose();
    }
  }
}

/**
 * A TF.js model's files read through `read` (a path relative to model.json's folder -> its bytes, throwing
 * NotFoundError when absent; see readTfjsModelFiles), with what is wrong with the model itself as an
 * InputError naming `${field}.model`: a model.json that is not TF.js's, a weights file it names that is
 * missing, weights whose bytes do not add up, a dtype TF.js cannot load. A missing model.json stays
 * NotFoundError: the request names nothing there.
 */
export async function readTfjsTeacherFiles(read: (path: string) => Promise<Buffer>, where: string, field: string): Promise<TfjsModelFiles> {
  const reading = async (path: string): Promise<Buffer> => {
    try {
      return await read(path);
    } catch (err) {
      if (path !== MODEL_JSON_FILE && err instanceof NotFoundError) throw new InputError(`${field}.model`, `${where} names the weights file ${path}, which is missing (${err.message})`, { cause: err });
      throw err;
    }
  };
  try {
    return await readTfjsModelFiles(reading, where);
  } catch (err) {
    if (err instanceof CorruptDataError || err instanceof FailedPreconditionError) throw new InputError(`${field}.model`, err.message, { cause: err });
    throw err;
  }
}
