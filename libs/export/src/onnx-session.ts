import * as ort from 'onnxruntime-node';

/** What a response's `backend` says when onnxruntime-node did the inference. */
export const ONNX_BACKEND = 'onnxruntime-node (cpu)';

export interface OnnxSessionOptions {
  /**
   * Threads inside one run (onnxruntime's intra-op pool); default onnxruntime's own, one per core. A
   * labeler gives 1: labelers scale by process, one per core, as on the TF.js path.
   */
  threads?: number;
}

/** An onnxruntime-node session on the CPU provider over an ONNX file's bytes. */
export async function openOnnxSession(bytes: Uint8Array, options: OnnxSessionOptions = {}): Promise<ort.InferenceSession> {
  const threads = options.threads === undefined ? {} : { intraOpNumThreads: options.threads, interOpNumThreads: 1, executionMode: 'sequential' as const };
  return ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', ...threads });
}

/** Runs one float32 input through a session; returns every output's data and dims by name. */
export async function runOnnx(session: ort.InferenceSession, input: { name?: string; data: Float32Array; shape: readonly number[] }): Promise<Record<string, { data: Float32Array; dims: number[] }>> {
  const feeds = { [input.name ?? session.inputNames[0]]: new ort.Tensor('float32', input.data, [...input.shape]) };
  const results = await session.run(feeds);
  const out: Record<string, { data: Float32Array; dims: number[] }> = {};
  for (const name of session.outputNames) out[name] = { data: results[name].data as Float32Array, dims: [...results[name].dims] };
  return out;
}
