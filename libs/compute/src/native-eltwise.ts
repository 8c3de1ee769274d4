import * as tf from '@tensorflow/tfjs';
import type { NativeCpuKernels } from './native-cpu-kernels';
import type { WasmBackendLike } from './wasm-kernel-runner';

/**
 * Relu as a native pass split over the native threads (native/eltwise.c): on 2 threads it was part of what
 * a ResNet step still ran on one core. Other dtypes go to the stock wasm kernel.
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

const sameShape = (a: tf.TensorInfo, b: tf.TensorInfo) => a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);

/**
 * The shape of `a op b` where one operand is the other's shape and the other is that shape or a single
 * value of no higher rank (a scalar times a tensor: the optimizer's update); undefined for other broadcasts.
 */
function scalarOrSameShape(a: tf.TensorInfo, b: tf.TensorInfo): number[] | undefined {
  if (sameShape(a, b)) return a.shape;
  const one = (t: tf.TensorInfo, other: tf.TensorInfo) => tf.util.sizeFromShape(t.shape) === 1 && t.shape.length <= other.shape.length;
  if (one(b, a)) return a.shape;
  if (one(a, b)) return b.shape;
  return undefined;
}

/**
 * Add, Sub and Multiply of float32 tensors of one shape, or of a tensor and a single value, as native
 * passes split over the native threads (native/eltwise.c): the residual joins, the optimizer's update
 * (momentum's accum * m + g and value + c * accum on every variable, every step) and the gradients'
 * scalings, which on 2 threads a step still ran on one core. Other dtypes and broadcasts go to wasm.
 */
const BINARY_OPS = { Add: 0, Sub: 1, Multiply: 2 } as const;

export function makeNativeBinary(native: NativeCpuKernels, kernel: keyof typeof BINARY_OPS, fallback: tf.KernelFunc): tf.KernelFunc {
  const op = BINARY_OPS[kernel];
  return ((args: { inputs: tf.NamedTensorInfoMap; backend: unknown }) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const shape = a.dtype === 'float32' && b.dtype === 'float32' ? scalarOrSameShape(a, b) : undefined;
    if (shape == null) return fallback(args as unknown as Parameters<tf.KernelFunc>[0]);
    const wasm = args.backend as WasmBackendLike;
    const out = wasm.makeOutput(shape, 'float32');
    if (tf.util.sizeFromShape(shape) === 0) return out;
    const view = (t: tf.TensorInfo) => wasm.typedArrayFromHeap(t) as Float32Array;
    native.binary(op, view(a), view(b), view(out));
    return out;
  }) as unknown as tf.KernelFunc;
}
