import * as tf from '@tensorflow/tfjs';

/** The one tfjs namespace the project imports; every backend registers into its engine. */
export { tf };
export { initBackend, BACKEND_CHOICES } from './init-backend';
export type { BackendInfo, BackendChoice, InitBackendOptions } from './init-backend';
export {
  registerWasmTrainingKernels,
  unregisterWasmTrainingKernels,
  WASM_TRAINING_KERNELS,
} from './register-wasm-training-kernels';
export { conv2DBackpropFilterWasm, conv2DBackpropInputWasm } from './wasm-conv-grad-kernels';
