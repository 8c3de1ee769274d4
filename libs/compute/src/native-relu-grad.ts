import * as tf from '@tensorflow/tfjs';
import { overrideGradient, restoreGradient } from './gradient-overrides';
import type { NativeCpuKernels } from './native-cpu-kernels';
import type { WasmBackendLike } from './wasm-kernel-runner';

/**
 * ReLU's gradient as one native pass (native/relu-grad.c) on wasm. TF.js's own is mul(dy, cast(step(x))):
 * two full passes over every ReLU's input (Cast shares the buffer), the largest element-wise cost left in
 * a ResNet step once batch norm is native. Registered as Relu's gradient; on other backends, or while the
 * native kernels are not registered, it defers to TF.js's own. Same values (see relu-grad.c).
 */
export const RELU_GRAD = 'SelftrainReluGrad';

export function reluGradKernel(native: NativeCpuKernels): tf.KernelConfig {
  return {
    kernelName: RELU_GRAD,
    backendName: 'wasm',
    kernelFunc: (({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }) => {
      const { dy, x } = inputs as Record<string, tf.TensorInfo>;
      const wasm = backend as WasmBackendLike;
      const out = wasm.makeOutput(x.shape, 'float32');
      if (tf.util.sizeFromShape(x.shape) === 0) return out;
      const view = (t: tf.TensorInfo) => wasm.typedArrayFromHeap(t) as Float32Array;
      native.reluGrad(view(dy), view(x), view(out));
      return out;
    }) as unknown as tf.KernelFunc,
  };
}

/** Makes Relu's gradient the native kernel where it applies (float32 on wasm). */
export function installNativeReluGradient(): void {
  overrideGradient('Relu', (stock) => ({
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const d = dy as tf.Tensor;
      if (tf.getBackend() !== 'wasm' || x.dtype !== 'float32' || d.dtype !== 'float32' || tf.getKernel(RELU_GRAD, 'wasm') == null) {
        return stock.gradFunc(dy, saved, attrs);
      }
      return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: d, x }) as tf.Tensor };
    },
  }));
}

/** Puts TF.js's own Relu gradient back. */
export function uninstallNativeReluGradient(): void {
  restoreGradient('Relu');
}
