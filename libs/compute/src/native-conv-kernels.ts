import * as tf from '@tensorflow/tfjs';
import type { NativeCpuKernels } from './native-cpu-kernels';
import type { WasmBackendLike } from './wasm-kernel-runner';

type Shape4 = [number, number, number, number];

interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs: tf.NamedAttrMap;
}

interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * The conv geometry the native kernels take, or undefined where they do not apply (NCHW, dilation,
 * non-float32): those calls go to the wasm kernel the native one replaces.
 */
function nativeGeometry(xShape: Shape4, filterShape: Shape4, attrs: ConvAttrs, dtypes: tf.DataType[]): Int32Array | undefined {
  if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC' || dtypes.some((d) => d !== 'float32')) return undefined;
  const info = tf.backend_util.computeConv2DInfo(
    xShape, filterShape, attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast',
  );
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return undefined;
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth,
    strideHeight, strideWidth, padInfo } = info;
  if (padInfo.top < 0 || padInfo.left < 0) return undefined;
  return Int32Array.of(batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight,
    filterWidth, strideHeight, strideWidth, padInfo.top, padInfo.left);
}

/**
 * A forward conv with fewer than 16 taps x input channels (the first layer on a grey image: 9) is a GEMM
 * with a tiny inner dimension; XNNPACK's direct conv does those faster than im2col + sgemm (measured
 * 4.6 against 6.3 ms for 128x28x28x1 -> 24 channels). oneDNN's direct conv does them faster still (0.7 ms).
 */
function tapsTooFew(g: Int32Array): boolean {
  return g[7] * g[8] * g[3] < 16;
}

/**
 * Which library runs each conv: oneDNN where it loaded (`dnnl`), else im2col + OpenBLAS. Chosen per shape
 * from measurements (one thread, ResNet-10 w32 and cnn-small shapes, README): oneDNN was 2-5x faster on
 * every forward and filter-gradient shape, and on every input gradient but those with 1-3 input channels
 * (an image layer: 2.7 against 1.6 ms at 128x28x28x1 -> 24), which stay on OpenBLAS.
 */
export interface ConvRoute {
  forward(g: Int32Array): 'dnnl' | 'blas' | 'xnnpack';
  filter(g: Int32Array): 'dnnl' | 'blas';
  input(g: Int32Array): 'dnnl' | 'blas';
}

export function convRoute(dnnl: boolean): ConvRoute {
  return {
    forward: (g) => (dnnl ? 'dnnl' : tapsTooFew(g) ? 'xnnpack' : 'blas'),
    filter: () => (dnnl ? 'dnnl' : 'blas'),
    input: (g) => (dnnl && g[3] >= 4 ? 'dnnl' : 'blas'),
  };
}

type HeapView = (t: tf.TensorInfo) => Float32Array;

/**
 * Allocates a float32 output on the wasm heap, then lets `fill` hand heap views to a native call. Views
 * are taken only after the allocation: growing wasm memory detaches earlier ones.
 */
function nativeOutput(backend: unknown, shape: number[], fill: (view: HeapView, out: Float32Array) => void): tf.TensorInfo {
  const wasm = backend as WasmBackendLike;
  const out = wasm.makeOutput(shape, 'float32');
  if (tf.util.sizeFromShape(shape) === 0) return out; // nothing to compute, and no heap to view
  const view: HeapView = (t) => wasm.typedArrayFromHeap(t) as Float32Array;
  fill(view, view(out));
  return out;
}

/** Conv2D: oneDNN, or im2col + OpenBLAS sgemm (stock wasm runs XNNPACK's 128-bit SIMD conv). */
export function makeNativeConv2D(native: NativeCpuKernels, fallback: tf.KernelFunc, route: ConvRoute): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    const attrs = args.attrs as unknown as ConvAttrs;
    const g = nativeGeometry(x.shape as Shape4, filter.shape as Shape4, attrs, [x.dtype, filter.dtype]);
    const lib = g && route.forward(g);
    if (g == null || lib === 'xnnpack') return fallback(args as unknown as Parameters<tf.KernelFunc>[0]);
    const conv = lib === 'dnnl' ? native.dnnlConv2d : native.conv2d;
    return nativeOutput(args.backend, [g[0], g[4], g[5], g[6]], (view, out) => conv(view(x), view(filter), out, g));
  }) as unknown as tf.KernelFunc;
}

/**
 * FusedConv2D (what tf.layers' predict runs: conv + bias + activation) with a linear or ReLU activation and
 * a bias of one value per output channel; other activations, PReLU weights or bias shapes go to the fallback.
 */
export function makeNativeFusedConv2D(native: NativeCpuKernels, fallback: tf.KernelFunc, route: ConvRoute): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const attrs = args.attrs as unknown as ConvAttrs & { activation?: string };
    const activation = attrs.activation ?? 'linear';
    const g = x && filter && preluActivationWeights == null && (activation === 'linear' || activation === 'relu')
      ? nativeGeometry(x.shape as Shape4, filter.shape as Shape4, attrs, [x.dtype, filter.dtype, bias?.dtype ?? 'float32'])
      : undefined;
    const biasOk = bias == null || tf.util.sizeFromShape(bias.shape) === filter?.shape[3];
    const lib = g && route.forward(g);
    if (g == null || lib === 'xnnpack' || !biasOk || x == null || filter == null) return fallback(args as unknown as Parameters<tf.KernelFunc>[0]);
    const conv = lib === 'dnnl' ? native.dnnlConv2d : native.conv2d;
    return nativeOutput(args.backend, [g[0], g[4], g[5], g[6]], (view, out) =>
      conv(view(x), view(filter), out, g, bias ? view(bias) : null, activation === 'relu'));
  }) as unknown as tf.KernelFunc;
}

/** Conv2DBackpropFilter: oneDNN, or dW = im2col(x)^T dy accumulated over row chunks in one sgemm each. */
export function makeNativeConv2DBackpropFilter(native: NativeCpuKernels, fallback: tf.KernelFunc, route: ConvRoute): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const attrs = args.attrs as unknown as ConvAttrs & { filterShape: Shape4 };
    const g = nativeGeometry(x.shape as Shape4, attrs.filterShape, attrs, [x.dtype, dy.dtype]);
    if (g == null || g[4] !== dy.shape[1] || g[5] !== dy.shape[2]) return fallback(args as unknown as Parameters<tf.KernelFunc>[0]);
    const conv = route.filter(g) === 'dnnl' ? native.dnnlConv2dBackpropFilter : native.conv2dBackpropFilter;
    return nativeOutput(args.backend, [...attrs.filterShape], (view, out) => conv(view(x), view(dy), out, g));
  }) as unknown as tf.KernelFunc;
}

/** Conv2DBackpropInput: oneDNN, or dcols = dy W^T by sgemm, scattered back onto dx (col2im). */
export function makeNativeConv2DBackpropInput(native: NativeCpuKernels, fallback: tf.KernelFunc, route: ConvRoute): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const attrs = args.attrs as unknown as ConvAttrs & { inputShape: Shape4 };
    const g = nativeGeometry(attrs.inputShape, filter.shape as Shape4, attrs, [dy.dtype, filter.dtype]);
    if (g == null || g[4] !== dy.shape[1] || g[5] !== dy.shape[2]) return fallback(args as unknown as Parameters<tf.KernelFunc>[0]);
    const conv = route.input(g) === 'dnnl' ? native.dnnlConv2dBackpropInput : native.conv2dBackpropInput;
    return nativeOutput(args.backend, [...attrs.inputShape], (view, out) => conv(view(dy), view(filter), out, g));
  }) as unknown as tf.KernelFunc;
}

/**
 * BatchMatMul: one sgemm per batch entry, transposes done by BLAS (free) rather than by explicit copies.
 * Batch dims must match or one side's must be all 1 (broadcast); other broadcasts go to the fallback.
 */
export function makeNativeBatchMatMul(native: NativeCpuKernels, fallback: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    const ra = a.shape.length;
    const rb = b.shape.length;
    const batchA = a.shape.slice(0, -2);
    const batchB = b.shape.slice(0, -2);
    const sizeA = batchA.reduce((p, q) => p * q, 1);
    const sizeB = batchB.reduce((p, q) => p * q, 1);
    const sameBatch = batchA.length === batchB.length && batchA.every((d, i) => d === batchB[i]);
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || ra < 2 || rb < 2 || !(sameBatch || sizeA === 1 || sizeB === 1)) {
      return fallback(args as unknown as Parameters<tf.KernelFunc>[0]);
    }
    const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
    const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
    const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
    const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
    if (k !== kb) return fallback(args as unknown as Parameters<tf.KernelFunc>[0]); // its error message
    const batchShape = sizeA >= sizeB ? batchA : batchB;
    const batch = Math.max(sizeA, sizeB);
    return nativeOutput(args.backend, [...batchShape, m, n], (view, out) => {
      if (k === 0) out.fill(0); // an empty inner dimension: the product is all zeros
      else native.gemm(view(a), view(b), out, Int32Array.of(
        batch, m, n, k, transposeA ? 1 : 0, transposeB ? 1 : 0, sizeA === 1 ? 0 : m * k, sizeB === 1 ? 0 : k * n,
      ));
    });
  }) as unknown as tf.KernelFunc;
}
