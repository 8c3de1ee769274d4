import * as tf from '@tensorflow/tfjs';

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: tf.NamedAttrMap };

interface RefCountingBackend {
  incRef(dataId: object): void;
}

/**
 * Identity, and Cast to the dtype a tensor already has, without a copy: the output shares the input's
 * buffer with its reference count raised (as stock wasm's Reshape and the cpu backend's Identity do).
 * Why: training runs Identity on whole activations (the gradient of every pass-through op and tf.layers'
 * clones); stock wasm copies each one, about 8 % of a native-kernel training step.
 * Everything else (real casts, strings) goes to the stock kernel.
 */
export function makeSharingIdentityWasm(stock: tf.KernelFunc, kernel: 'Identity' | 'Cast'): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const dtype = kernel === 'Cast' ? (args.attrs as { dtype: tf.DataType }).dtype : x.dtype;
    if (x.dtype === 'string' || dtype !== x.dtype) return stock(args as unknown as Parameters<tf.KernelFunc>[0]);
    (args.backend as RefCountingBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  }) as unknown as tf.KernelFunc;
}
