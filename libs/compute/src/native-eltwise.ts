import * as tf from '@tensorflow/tfjs';
import type { NativeCpuKernels } from './native-cpu-kernels';
import type { WasmBackendLike } from './wasm-kernel-runner';

/**
 * Relu, and Add of two float32 tensors of one shape (a residual join), as native passes split over the
 * native threads (native/eltwise.c): on 2 threads they were what a ResNet step still ran on one core.
 * Anything else (other dtypes, broadcasting) goes to the stock wasm kernel.
 */
function nativeUnary(backend: unknown, x: tf.TensorInfo, run: (view: (t: tf.TensorInfo) => Float32Array, out: Float32Array) => void): tf.TensorInfo {
  const wasm = backend as WasmBackendLike;
  const out = wasm.makeOutput(x.shape, 'float32');
  if (tf.util.sizeFromShape(x.shape) === 0) return out;
  const view = (t: tf.TensorInfo) => wasm.typedArrayFromHeap(t) as Float32Array;
  run(view, view(out));
  return out;
}

export function makeNativeRelu(native: NativeCpuKernels, fallback: tf.KernelFunc): tf.KernelFunc {
  return ((args: { inputs: tf.NamedTensorInfoMap; backend: unknown }) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype !== 'float32') return fallback(args as unknown as Parameters<tf.KernelFunc>[0]);
    return nativeUnary(args.backend, x, (view, out) => native.relu(view(x), out));
  }) as unknown as tf.KernelFunc;
}

export function makeNativeAdd(native: NativeCpuKernels, fallback: tf.KernelFunc): tf.KernelFunc {
  return ((args: { inputs: tf.NamedTensorInfoMap; backend: unknown }) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const same = a.dtype === 'float32' && b.dtype === 'float32' && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
    if (!same) return fallback(args as unknown as Parameters<tf.KernelFunc>[0]);
    return nativeUnary(args.backend, a, (view, out) => native.add(view(a), view(b), out));
  }) as unknown as tf.KernelFunc;
}
