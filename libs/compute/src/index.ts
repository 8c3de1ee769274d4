import * as tf from '@tensorflow/tfjs';

/** The one tfjs namespace the project imports; every backend registers into its engine. */
export { tf };
export { initBackend, BACKEND_CHOICES } from './init-backend';
export type { BackendInfo, BackendChoice, InitBackendOptions } from './init-backend';
export {
  registerWasmTrainingKernels,
  unregisterWasmTrainingKernels,
  wasmTrainingKernels,
  WASM_TRAINING_KERNELS,
  NATIVE_KERNELS,
} from './register-wasm-training-kernels';
export type { WasmTrainingKernels } from './register-wasm-training-kernels';
export { nativeCpuKernels, nativeThreads, setNativeThreads, NATIVE_ADDON_PATH } from './native-cpu-kernels';
export type { NativeCpuKernels, NativeKernelStatus } from './native-cpu-kernels';
export { withNativeThreads } from './native-thread-leases';
export { conv2DBackpropFilterWasm, conv2DBackpropInputWasm } from './wasm-conv-grad-kernels';
export { foldBatchNorm } from './fold-batch-norm';
export { classificationEngine, INFERENCE_ENGINES, type InferenceEngineChoice } from './inference-engine';
