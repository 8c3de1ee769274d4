import * as tf from '@tensorflow/tfjs';
import type { WasmBackendLike } from './wasm-kernel-runner';
import type { NativeCpuKernels } from './native-cpu-kernels';

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: tf.NamedAttrMap };

/**
 * Sum / Mean for wasm with a fast path for reductions over the leading axes (every bias gradient is
 * dy [B,H,W,C] summed over B,H,W; batch norm's moments are means over B,H,W). Stock wasm first
 * transposes the reduced axes innermost (a slow element-wise transpose of the whole tensor); a JS column
 * accumulation over the heap is ~5x faster. Accumulates in float64, like the cpu backend.
 * Everything else goes to the stock kernel. With the native kernels the column sum runs in C (3x faster).
 */
export function makeLeadingReduceWasm(stock: tf.KernelFunc, mean: boolean, native?: NativeCpuKernels): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
    const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
    if (x.dtype !== 'float32' || !leading) return stock(args as unknown as Parameters<tf.KernelFunc>[0]);
    const backend = args.backend as WasmBackendLike;
    const outer = x.shape.slice(0, axes.length).reduce((p, q) => p * q, 1);
    const innerShape = x.shape.slice(axes.length);
    const inner = innerShape.reduce((p, q) => p * q, 1);
    const outShape = keepDims ? [...axes.map(() => 1), ...innerShape] : innerShape;
    const out = backend.makeOutput(outShape, 'float32');
    // Views only after the allocation: it may grow (and detach) the wasm heap.
    const xv = backend.typedArrayFromHeap(x) as Float32Array;
    const ov = backend.typedArrayFromHeap(out) as Float32Array;
    if (native != null) {
      native.sumLeading(xv, ov, Int32Array.of(outer, inner, mean ? 1 : 0));
      return out;
    }
    const acc = new Float64Array(inner);
    for (let r = 0, o = 0; r < outer; r++, o += inner) {
      for (let c = 0; c < inner; c++) acc[c] += xv[o + c];
    }
    if (mean && outer > 0) for (let c = 0; c < inner; c++) acc[c] /= outer;
    ov.set(acc);
    return out;
  }) as unknown as tf.KernelFunc;
}
