/**
 * Which engine runs a classification checkpoint's inference in the labeler and the evaluator (the
 * services' SELFTRAIN_INFERENCE_ENGINE). 'auto': onnxruntime on a CPU backend, TF.js on a GPU one.
 */
export const INFERENCE_ENGINES = ['auto', 'onnxruntime', 'tfjs'] as const;
export type InferenceEngineChoice = (typeof INFERENCE_ENGINES)[number];

/**
 * The engine `choice` means on this backend. onnxruntime by default on CPU: on the same checkpoint, shards
 * and thread count it labels 1.08x (CIFAR-10's ResNet-18, 1 thread) to 1.44x (cnn-small) faster than
 * TF.js on the native kernels, with the same kept labels (tools/bench bench-labeling, README). On a GPU
 * backend TF.js runs on the GPU; onnxruntime here has only its CPU provider.
 */
export function classificationEngine(choice: InferenceEngineChoice, backend: { gpu: boolean }): 'onnxruntime' | 'tfjs' {
  if (choice === 'auto') return backend.gpu ? 'tfjs' : 'onnxruntime';
  return choice;
}
