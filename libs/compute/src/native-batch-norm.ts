import * as tf from '@tensorflow/tfjs';
import type { NativeCpuKernels } from './native-cpu-kernels';
import type { WasmBackendLike } from './wasm-kernel-runner';

/**
 * Batch norm on the native kernels (native/batch-norm.c), for the wasm backend.
 *
 * Why: tf.layers' training batch norm is moments (Mean, Sub, Square, Mean) + FusedBatchNorm, and its
 * gradient a dozen element-wise kernels over the whole activation; on wasm those were ~40 % of a ResNet-10
 * training step (per-kernel profile in `npm run bench`), more than its convs once they ran on oneDNN.
 * Here a training batch norm is one kernel (statistics and output in two passes) and its gradient one
 * more (two passes), both registered like any TF.js kernel, with the gradient of the first kernel
 * registered as the second. The layer reaches them through `BatchNormalization.call`, replaced while the
 * native kernels are registered: in training, on wasm, for float32 input normalised over its last axis
 * with gamma and beta (every batch norm of the zoo); anything else runs the layer's own code.
 * The moving mean and variance are updated exactly as the layer does. The kernel's mean and variance
 * outputs get no gradient: the layer only feeds them to those updates, never to the loss.
 */
export const BATCH_NORM_TRAIN = 'SelftrainBatchNormTrain';
export const BATCH_NORM_GRAD = 'SelftrainBatchNormGrad';

interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs: tf.NamedAttrMap;
}

function channelsOf(x: tf.TensorInfo): Int32Array {
  const c = x.shape[x.shape.length - 1];
  return Int32Array.of(tf.util.sizeFromShape(x.shape) / c, c);
}

/** Allocates every output first, then takes heap views (an allocation can detach earlier views). */
function outputs(backend: unknown, shapes: number[][], fill: (view: (t: tf.TensorInfo) => Float32Array, outs: Float32Array[]) => void): tf.TensorInfo[] {
  const wasm = backend as WasmBackendLike;
  const outs = shapes.map((s) => wasm.makeOutput(s, 'float32'));
  const view = (t: tf.TensorInfo) => wasm.typedArrayFromHeap(t) as Float32Array;
  fill(view, outs.map(view));
  return outs;
}

const optional = (view: (t: tf.TensorInfo) => Float32Array, t: tf.TensorInfo | undefined) => (t == null ? null : view(t));

export function batchNormTrainKernel(native: NativeCpuKernels): tf.KernelConfig {
  return {
    kernelName: BATCH_NORM_TRAIN,
    backendName: 'wasm',
    kernelFunc: ((args: KernelArgs) => {
      const { x, gamma, beta } = args.inputs as Record<string, tf.TensorInfo | undefined>;
      const c = x!.shape[x!.shape.length - 1];
      return outputs(args.backend, [x!.shape, [c], [c]], (view, [y, mean, variance]) =>
        native.batchNormTrain(view(x!), optional(view, gamma), optional(view, beta), y, mean, variance, channelsOf(x!), args.attrs.epsilon as number));
    }) as unknown as tf.KernelFunc,
  };
}

export function batchNormGradKernel(native: NativeCpuKernels): tf.KernelConfig {
  return {
    kernelName: BATCH_NORM_GRAD,
    backendName: 'wasm',
    kernelFunc: ((args: KernelArgs) => {
      const { x, dy, gamma, mean, variance } = args.inputs as Record<string, tf.TensorInfo>;
      const c = x.shape[x.shape.length - 1];
      return outputs(args.backend, [x.shape, [c], [c]], (view, [dx, dgamma, dbeta]) =>
        native.batchNormGrad(view(x), view(dy), optional(view, gamma), view(mean), view(variance), dx, dgamma, dbeta,
          channelsOf(x), args.attrs.epsilon as number));
    }) as unknown as tf.KernelFunc,
  };
}

/**
 * dx, dgamma and dbeta come from one native call, made when the gradient function runs: that is inside
 * the engine's backward scope, which frees whichever of the three no input asks for. (Made lazily inside
 * one input's closure instead, they would be freed by that closure's own scope before the next asks.)
 */
export const batchNormTrainGradient: tf.GradConfig = {
  kernelName: BATCH_NORM_TRAIN,
  inputsToSave: ['x', 'gamma'],
  outputsToSave: [false, true, true],
  gradFunc: (dy, saved, attrs) => {
    const [x, gamma, mean, variance] = saved;
    const [dx, dgamma, dbeta] = tf.engine().runKernel(
      BATCH_NORM_GRAD, { x, dy: (dy as tf.Tensor[])[0], gamma, mean, variance }, attrs,
    ) as tf.Tensor[];
    return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
  },
};

/**
 * FusedBatchNorm (inference's batch norm, and the layer's own training path where ours does not apply)
 * with per-channel mean, variance, offset and scale; other shapes go to the fallback.
 */
export function makeNativeFusedBatchNorm(native: NativeCpuKernels, fallback: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const { x, mean, variance, offset, scale } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const c = x?.shape[x.shape.length - 1];
    const perChannel = (t: tf.TensorInfo | undefined, required: boolean) =>
      t == null ? !required : t.dtype === 'float32' && tf.util.sizeFromShape(t.shape) === c;
    const ok = x != null && x.dtype === 'float32' && x.shape.length >= 1 && tf.util.sizeFromShape(x.shape) > 0 &&
      perChannel(mean, true) && perChannel(variance, true) && perChannel(offset, false) && perChannel(scale, false);
    if (!ok) return fallback(args as unknown as Parameters<tf.KernelFunc>[0]);
    const [y] = outputs(args.backend, [x.shape], (view, [out]) => native.batchNormInfer(
      view(x), view(mean!), view(variance!), optional(view, scale), optional(view, offset), out, channelsOf(x),
      (args.attrs.varianceEpsilon as number | undefined) ?? 0.001,
    ));
    return y;
  }) as unknown as tf.KernelFunc;
}

interface BatchNormLayer {
  axis: number;
  momentum: number;
  epsilon: number;
  gamma: { read(): tf.Tensor } | null;
  beta: { read(): tf.Tensor } | null;
  movingMean: { read(): tf.Tensor; write(v: tf.Tensor): void };
  movingVariance: { read(): tf.Tensor; write(v: tf.Tensor): void };
}
type LayerCall = (this: BatchNormLayer, inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }) => tf.Tensor;

let originalCall: LayerCall | undefined;

function layerPrototype(): { call: LayerCall } {
  return Object.getPrototypeOf(tf.layers.batchNormalization({})) as { call: LayerCall };
}

/** Routes tf.layers.BatchNormalization's training call to the native kernels (see the file's comment). */
export function installNativeBatchNormLayer(): void {
  if (originalCall != null) return;
  const proto = layerPrototype();
  const original = proto.call;
  originalCall = original;
  proto.call = function call(this: BatchNormLayer, inputs, kwargs) {
    const x = Array.isArray(inputs) && inputs.length === 1 ? inputs[0] : inputs;
    if (kwargs?.training !== true || Array.isArray(x) || tf.getBackend() !== 'wasm' || x.dtype !== 'float32' ||
      (this.axis !== -1 && this.axis !== x.rank - 1) || this.gamma == null || this.beta == null) {
      return original.call(this, inputs, kwargs);
    }
    return tf.tidy(() => {
      const [y, mean, variance] = tf.engine().runKernel(
        BATCH_NORM_TRAIN, { x, gamma: this.gamma!.read(), beta: this.beta!.read() }, { epsilon: this.epsilon },
      ) as tf.Tensor[];
      for (const [variable, value] of [[this.movingMean, mean], [this.movingVariance, variance]] as const) {
        tf.tidy(() => {
          const orig = variable.read();
          variable.write(tf.sub(orig, tf.mul(tf.sub(orig, value), 1 - this.momentum)));
        });
      }
      return y;
    });
  };
}

/** Puts the layer's own call back. */
export function uninstallNativeBatchNormLayer(): void {
  if (originalCall == null) return;
  layerPrototype().call = originalCall;
  originalCall = undefined;
}
