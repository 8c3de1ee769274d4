import * as fs from 'node:fs';
import * as path from 'node:path';

/** The addon built from native/cpu-kernels.c (see its header for what each call computes). */
export interface NativeCpuKernels {
  /** x, W -> y (+ bias, then ReLU if relu); geometry: b h w ci ho wo co fh fw sh sw top left (NHWC, dilation 1) */
  conv2d(x: Float32Array, filter: Float32Array, out: Float32Array, geometry: Int32Array, bias?: Float32Array | null, relu?: boolean): void;
  /** x, dy -> dW */
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, out: Float32Array, geometry: Int32Array): void;
  /** dy, W -> dx */
  conv2dBackpropInput(dy: Float32Array, filter: Float32Array, out: Float32Array, geometry: Int32Array): void;
  /** out[i] = op(a[i]) op(b[i]); dims: batch m n k transA transB strideA strideB (stride 0 broadcasts) */
  gemm(a: Float32Array, b: Float32Array, out: Float32Array, dims: Int32Array): void;
  /** the same three convs on oneDNN (native/dnnl-kernels.c); throw where dnnlAvailable is false */
  dnnlConv2d(x: Float32Array, filter: Float32Array, out: Float32Array, geometry: Int32Array, bias?: Float32Array | null, relu?: boolean): void;
  dnnlConv2dBackpropFilter(x: Float32Array, dy: Float32Array, out: Float32Array, geometry: Int32Array): void;
  dnnlConv2dBackpropInput(dy: Float32Array, filter: Float32Array, out: Float32Array, geometry: Int32Array): void;
  /** the implementation oneDNN chose for this thread's last oneDNN conv, e.g. brg:avx512_core */
  dnnlLastImpl(): string;
  /** threads per native call from this thread: oneDNN's OpenMP team, batch norm's and ReLU grad's passes */
  setThreads(n: number): void;
  /** this thread's setting (1 until setThreads) */
  getThreads(): number;
  /** batch norm over the last axis (native/batch-norm.c); dims: rows channels. Need no BLAS. */
  batchNormTrain(x: Float32Array, gamma: Float32Array | null, beta: Float32Array | null, y: Float32Array, mean: Float32Array, variance: Float32Array, dims: Int32Array, epsilon: number): void;
  batchNormGrad(x: Float32Array, dy: Float32Array, gamma: Float32Array | null, mean: Float32Array, variance: Float32Array, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array, dims: Int32Array, epsilon: number): void;
  batchNormInfer(x: Float32Array, mean: Float32Array, variance: Float32Array, scale: Float32Array | null, offset: Float32Array | null, y: Float32Array, dims: Int32Array, epsilon: number): void;
  /** dx = dy step(x) (ReLU's gradient), all of one length. Needs no BLAS. */
  reluGrad(dy: Float32Array, x: Float32Array, dx: Float32Array): void;
  /** y = x < 0 ? 0 : x; out = a + b (native/eltwise.c), all of one length. Need no BLAS. */
  relu(x: Float32Array, y: Float32Array): void;
  add(a: Float32Array, b: Float32Array, out: Float32Array): void;
  /** out = a op b (op: 0 add, 1 sub, 2 mul); a and b each as long as out or one value (native/eltwise.c). Needs no BLAS. */
  binary(op: 0 | 1 | 2, a: Float32Array, b: Float32Array, out: Float32Array): void;
  /** out[c] = sum (mean: 1) over r of x[r, c]; dims: outer inner mean. Needs no BLAS. */
  sumLeading(x: Float32Array, out: Float32Array, dims: Int32Array): void;
  readonly available: boolean;
  readonly unavailableReason: string;
  /** the OpenBLAS kernel family it picked for this CPU, e.g. SkylakeX */
  readonly blasCore: string;
  /** whether oneDNN loaded (libdnnl.so.2, and the addon was built with its headers) */
  readonly dnnlAvailable: boolean;
  /** e.g. 2.6.3, where it loaded */
  readonly dnnlVersion?: string;
  /** why not, where it did not (names the Debian package) */
  readonly dnnlUnavailableReason?: string;
}

export type NativeKernelStatus =
  | { loaded: true; kernels: NativeCpuKernels; description: string }
  | { loaded: false; reason: string };

/** Where `npm run build` (native/build.mjs) puts the addon: dist/native/, beside this file once compiled. */
export const NATIVE_ADDON_PATH = path.join(__dirname, 'native', 'selftrain-cpu-kernels.node');

let status: NativeKernelStatus | undefined;

/** SELFTRAIN_DNNL=off keeps the convs on OpenBLAS (as SELFTRAIN_NATIVE_KERNELS=off keeps them on wasm): why, or undefined. */
export function dnnlTurnedOff(): string | undefined {
  const setting = (process.env.SELFTRAIN_DNNL ?? 'auto').trim().toLowerCase();
  return setting === 'off' || setting === '0' || setting === 'false' ? `SELFTRAIN_DNNL=${setting}` : undefined;
}

/** 'native oneDNN 2.6.3 + OpenBLAS (SkylakeX)' where the convs run on oneDNN, else 'native OpenBLAS (SkylakeX)'. */
export function nativeDescription(kernels: NativeCpuKernels, dnnl: boolean): string {
  return dnnl ? `native oneDNN ${kernels.dnnlVersion} + OpenBLAS (${kernels.blasCore})` : `native OpenBLAS (${kernels.blasCore})`;
}

/**
 * Loads the native kernels once per thread. SELFTRAIN_NATIVE_KERNELS=off keeps the wasm kernels; without
 * the built addon or without OpenBLAS the wasm kernels are used too, and `reason` says why.
 */
export function nativeCpuKernels(): NativeKernelStatus {
  if (status != null) return status;
  const setting = (process.env.SELFTRAIN_NATIVE_KERNELS ?? 'auto').trim().toLowerCase();
  if (setting === 'off' || setting === '0' || setting === 'false') {
    status = { loaded: false, reason: `SELFTRAIN_NATIVE_KERNELS=${setting}` };
  } else if (!fs.existsSync(NATIVE_ADDON_PATH)) {
    status = { loaded: false, reason: `${NATIVE_ADDON_PATH} was not built (needs a C compiler; see libs/compute/native)` };
  } else {
    try {
      const kernels = require(NATIVE_ADDON_PATH) as NativeCpuKernels;
      status = kernels.available
        ? { loaded: true, kernels, description: nativeDescription(kernels, kernels.dnnlAvailable && dnnlTurnedOff() == null) }
        : { loaded: false, reason: kernels.unavailableReason };
    } catch (err) {
      status = { loaded: false, reason: `loading ${NATIVE_ADDON_PATH}: ${(err as Error).message.split('\n')[0]}` };
    }
  }
  return status;
}

/**
 * The one owner of the native kernels' thread count: threads each native kernel call from this thread may
 * use (oneDNN's OpenMP team and the batch norm and ReLU-gradient passes, per calling thread; OpenBLAS stays
 * on one: with oneDNN it runs only small dense matmuls, and its idle workers spin). 1 at load, in
 * every thread: the trainer's gradient replicas (TRAIN_THREADS) already run one per core, and a team on
 * top of them would oversubscribe the cores. Whoever runs one step on several cores (the bench's 2-thread
 * rows) raises it here. No-op without the addon.
 */
export function setNativeThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`native threads must be an integer >= 1, got ${n}`);
  const s = nativeCpuKernels();
  if (s.loaded) s.kernels.setThreads(n);
}

/** This thread's native thread count (1 where the addon is not loaded). */
export function nativeThreads(): number {
  const s = nativeCpuKernels();
  return s.loaded ? s.kernels.getThreads() : 1;
}
