import * as ort from 'onnxruntime-node';
import { InputError } from '@selftrain/errors';
import type { ModelInput } from './class-teacher';
import { DenseTeacher, type DenseTask, type DenseTeacherGraph } from './dense-teacher';
import { graphInputs } from './onnx-teacher';
import { ONNX_BACKEND, openOnnxSession } from './onnx-session';
import type { CheckedTeacherModel } from './teacher-contract';

/** An ONNX file's graph on onnxruntime-node, as a DenseTeacher runs it; a file onnxruntime cannot read is an InputError naming `${field}.model`. */
export async function onnxDenseGraph(bytes: Uint8Array, field: string): Promise<DenseTeacherGraph> {
  let inputs: ModelInput[];
  try {
    inputs = graphInputs(bytes);
  } catch (err) {
    throw new InputError(`${field}.model`, `is not an ONNX model: ${(err as Error).message}`);
  }
  let session: ort.InferenceSession;
  try {
    session = await openOnnxSession(bytes);
  } catch (err) {
    throw new InputError(`${field}.model`, `onnxruntime cannot load it: ${(err as Error).message.slice(0, 300)}`, { cause: err });
  }
  return {
    inputs, outputNames: session.outputNames, engine: ONNX_BACKEND, noun: 'graph',
    async run(input, outputs) {
      const results = await session.run({ [input.name]: new ort.Tensor('float32', input.data, input.shape) });
      return Object.fromEntries(outputs.map((name) => [name, { data: results[name].data as ArrayLike<number | bigint>, dims: results[name].dims }]));
    },
    release: () => session.release(),
  };
}

/** A user's ONNX detector or segmenter under its contract (DenseTeacher). */
export async function openOnnxDenseTeacher(bytes: Uint8Array, contract: CheckedTeacherModel, task: DenseTask, field = 'teacher_model'): Promise<DenseTeacher> {
  return DenseTeacher.open(await onnxDenseGraph(bytes, field), contract, task, field);
}
