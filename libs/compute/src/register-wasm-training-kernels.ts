import * as tf from '@tensorflow/tfjs';
import { conv2DBackpropFilterWasm, conv2DBackpropInputWasm } from './wasm-conv-grad-kernels';
import { makeBatchMatMulWasm } from './wasm-matmul-kernel';
import { makeLeadingReduceWasm } from './wasm-reduce-kernel';
import { makeTileWasm } from './wasm-tile-kernel';
import { makeSharingIdentityWasm } from './wasm-identity-kernel';
import { dnnlTurnedOff, nativeCpuKernels, nativeDescription, type NativeCpuKernels } from './native-cpu-kernels';
import {
  convRoute, makeNativeBatchMatMul, makeNativeConv2D, makeNativeConv2DBackpropFilter, makeNativeConv2DBackpropInput,
  makeNativeFusedConv2D,
} from './native-conv-kernels';
import {
  batchNormGradKernel, batchNormTrainGradient, batchNormTrainKernel, BATCH_NORM_GRAD, BATCH_NORM_TRAIN,
  installNativeBatchNormLayer, makeNativeFusedBatchNorm, uninstallNativeBatchNormLayer,
} from './native-batch-norm';
import { installNativeReluGradient, reluGradKernel, RELU_GRAD, uninstallNativeReluGradient } from './native-relu-grad';
import { makeNativeBinary, makeNativeRelu } from './native-eltwise';
import { installMeanGradient, uninstallMeanGradient } from './mean-gradient';
import { installUnfusedTrainingConv, uninstallUnfusedTrainingConv } from './unfused-training-conv';

/**
 * Kernels that training needs on wasm and that stock tfjs-backend-wasm 4.22 lacks or runs slowly.
 * - Conv2DBackpropFilter: not registered at all in stock wasm, so any conv net fails to train.
 * - Conv2DBackpropInput: stock wasm has a naive loop; ours runs on XNNPACK's Conv2D (4-8x faster).
 * - BatchMatMul: stock wasm is ~10x slower with transposeA/transposeB, which dense layers' gradients use;
 *   ours transposes explicitly and calls the stock kernel without flags.
 * - Sum, Mean: stock wasm transposes before reducing over leading axes (every bias gradient, batch-norm
 *   moments); ours accumulates columns directly.
 * - Tile: stock wasm is element-wise; batch norm's gradient tiles [1,1,1,C] to [B,H,W,C] several times
 *   per layer (28% of a resnet-small step); ours copies blocks.
 * - Identity, Cast to the same dtype: stock wasm copies the whole tensor; ours shares the buffer.
 * - Mean's gradient (a gradient, not a kernel): TF.js's builds a tensor of ones as large as the input
 *   in JS (mean-gradient.ts).
 * - tf.fused.conv2d under a gradient tape (an op, not a kernel): its gradient computes the input's
 *   derivative even where nothing needs it, as for the model's first conv (unfused-training-conv.ts).
 * Found by profiling training steps of every zoo model on wasm (tf.profile). The other backward kernels
 * they use (Step/Mul for ReLU, MaxPoolGrad, AvgPoolGrad, the ops batch norm's gradient is written in)
 * exist in stock wasm and are not a bottleneck; so do ResizeNearestNeighborGrad and ResizeBilinearGrad, which
 * the FPN detector and segmenter need (~3% of a segmenter step; checked in wasm-resize-grad.test.ts).
 *
 * Where the native kernels load (native/cpu-kernels.c: OpenBLAS), Conv2D, both conv gradients and
 * BatchMatMul run there instead, with the kernels above as their fallback for what they do not cover;
 * where oneDNN loads too (native/dnnl-kernels.c), the convs run on it (per shape: convRoute).
 */
export const WASM_TRAINING_KERNELS: readonly string[] = [
  'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'BatchMatMul', 'Sum', 'Mean', 'Tile', 'Identity', 'Cast',
];
/** The kernels that go to the native library when it loads (the last two: tf.layers' batch norm, in training). */
export const NATIVE_KERNELS: readonly string[] = [
  'Conv2D', 'FusedConv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'BatchMatMul', 'Sum', 'Mean', 'FusedBatchNorm',
  BATCH_NORM_TRAIN, BATCH_NORM_GRAD, RELU_GRAD, 'Relu', 'Add', 'Sub', 'Multiply',
];

export interface WasmTrainingKernels {
  /** every kernel the project replaced or added */
  kernels: readonly string[];
  /** 'native oneDNN 2.6.3 + OpenBLAS (SkylakeX)', 'native OpenBLAS (SkylakeX)' or 'wasm' */
  description: string;
  /** why the native kernels are not in use (absent when they are) */
  nativeUnavailable?: string;
  /** whether the convs run on oneDNN */
  dnnl: boolean;
  /** whether tf.layers' training batch norm, ReLU (and its gradient) and same-shape Add run on the native kernels */
  batchNorm: boolean;
  /** why not, where the native kernels are in use but oneDNN is not (names the Debian package) */
  dnnlUnavailable?: string;
}


const stock = new Map<string, tf.KernelConfig>();
let registered: WasmTrainingKernels | undefined;

function replace(config: tf.KernelConfig): void {
  const existing = tf.getKernel(config.kernelName, config.backendName);
  if (existing != null) {
    // Keep the stock kernel so it can be restored or compared with; unregister first to avoid tfjs's
    // "already registered" warning.
    if (!stock.has(config.kernelName)) stock.set(config.kernelName, existing);
    tf.unregisterKernel(config.kernelName, config.backendName);
  }
  tf.registerKernel(config);
}

/** Replaces a stock wasm kernel by a wrapper that falls back to it; keeps its setup (its wasm binding). */
function wrap(name: string, make: (stockFunc: tf.KernelFunc) => tf.KernelFunc): void {
  const original = stock.get(name) ?? tf.getKernel(name, 'wasm');
  if (original == null) throw new Error(`stock wasm kernel ${name} is not registered (is tfjs-backend-wasm loaded?)`);
  replace({ kernelName: name, backendName: 'wasm', kernelFunc: make(original.kernelFunc), setupFunc: original.setupFunc });
}

/**
 * Registers the project's training kernels on wasm (idempotent), native ones where they load unless
 * `native: false`, their convs on oneDNN where it loads unless `dnnl: false`, batch norm on them unless
 * `batchNorm: false` (the last two: to compare with the kernels before oneDNN). Call before or after the
 * wasm backend starts; calling again with other options re-registers.
 */
export function registerWasmTrainingKernels(opts: { native?: boolean; dnnl?: boolean; batchNorm?: boolean } = {}): WasmTrainingKernels {
  const status = opts.native === false ? { loaded: false as const, reason: 'native: false' } : nativeCpuKernels();
  const native: NativeCpuKernels | undefined = status.loaded ? status.kernels : undefined;
  const dnnlOff = opts.dnnl === false ? 'dnnl: false' : dnnlTurnedOff();
  const dnnlUnavailable = native == null ? undefined : dnnlOff ?? (native.dnnlAvailable ? undefined : native.dnnlUnavailableReason);
  const dnnl = native != null && dnnlUnavailable == null;
  const batchNorm = native != null && opts.batchNorm !== false;
  if (registered != null && (registered.nativeUnavailable == null) === (native != null) && registered.dnnl === dnnl &&
    registered.batchNorm === batchNorm) return registered;
  if (registered != null) unregisterWasmTrainingKernels();
  const route = convRoute(dnnl);
  const filterGrad = conv2DBackpropFilterWasm as unknown as tf.KernelFunc;
  const inputGrad = conv2DBackpropInputWasm as unknown as tf.KernelFunc;
  replace({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: native ? makeNativeConv2DBackpropFilter(native, filterGrad, route) : filterGrad,
  });
  replace({
    kernelName: 'Conv2DBackpropInput',
    backendName: 'wasm',
    kernelFunc: native ? makeNativeConv2DBackpropInput(native, inputGrad, route) : inputGrad,
  });
  wrap('BatchMatMul', (k) => (native ? makeNativeBatchMatMul(native, makeBatchMatMulWasm(k)) : makeBatchMatMulWasm(k)));
  if (native) {
    wrap('Conv2D', (k) => makeNativeConv2D(native, k, route));
    wrap('FusedConv2D', (k) => makeNativeFusedConv2D(native, k, route));
  }
  if (native && batchNorm) {
    wrap('FusedBatchNorm', (k) => makeNativeFusedBatchNorm(native, k));
    replace(batchNormTrainKernel(native));
    replace(batchNormGradKernel(native));
    tf.registerGradient(batchNormTrainGradient);
    installNativeBatchNormLayer();
    replace(reluGradKernel(native));
    installNativeReluGradient();
    wrap('Relu', (k) => makeNativeRelu(native, k));
    wrap('Add', (k) => makeNativeBinary(native, 'Add', k));
    wrap('Sub', (k) => makeNativeBinary(native, 'Sub', k));
    wrap('Multiply', (k) => makeNativeBinary(native, 'Multiply', k));
  }
  wrap('Sum', (k) => makeLeadingReduceWasm(k, false, native));
  wrap('Mean', (k) => makeLeadingReduceWasm(k, true, native));
  wrap('Tile', makeTileWasm);
  wrap('Identity', (k) => makeSharingIdentityWasm(k, 'Identity'));
  wrap('Cast', (k) => makeSharingIdentityWasm(k, 'Cast'));
  installMeanGradient();
  installUnfusedTrainingConv();
  registered = status.loaded
    ? {
      kernels: [...WASM_TRAINING_KERNELS, 'Conv2D', 'FusedConv2D', ...(batchNorm ? ['FusedBatchNorm', BATCH_NORM_TRAIN, BATCH_NORM_GRAD, RELU_GRAD, 'Relu', 'Add', 'Sub', 'Multiply'] : [])],
      description: nativeDescription(status.kernels, dnnl),
      dnnl,
      batchNorm,
      ...(dnnlUnavailable == null ? {} : { dnnlUnavailable }),
    }
    : { kernels: WASM_TRAINING_KERNELS, description: 'wasm', nativeUnavailable: status.reason, dnnl: false, batchNorm: false };
  return registered;
}

/** What registerWasmTrainingKernels put in place (undefined before it ran). */
export function wasmTrainingKernels(): WasmTrainingKernels | undefined {
  return registered;
}

/** Puts the stock wasm kernels back (for benchmarks that compare with stock). */
export function unregisterWasmTrainingKernels(): void {
  if (registered == null) return;
  uninstallNativeBatchNormLayer();
  uninstallNativeReluGradient();
  uninstallMeanGradient();
  uninstallUnfusedTrainingConv();
  for (const name of registered.kernels) {
    if (tf.getKernel(name, 'wasm') != null) tf.unregisterKernel(name, 'wasm');
    const original = stock.get(name);
    if (original != null) {
      tf.registerKernel(original);
      // A stock kernel unregistered before the backend started never got its setup (its wasm binding).
      const backend = tf.findBackend('wasm');
      if (backend != null) original.setupFunc?.(backend);
    }
  }
  registered = undefined;
}
