import * as tf from '@tensorflow/tfjs';

/** The subset of tfjs-backend-wasm's BackendWasm that composed kernels use. */
export interface WasmBackendLike {
  disposeData(dataId: object, force?: boolean): boolean;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

export type Run = (kernelName: string, inputs: tf.NamedTensorInfoMap, attrs?: tf.NamedAttrMap) => tf.TensorInfo;

/**
 * Runs registered wasm kernels directly on TensorInfos, below the engine.
 * Why: a kernel composed of other kernels must not go through tf ops (that would re-enter the engine,
 * record tape nodes and create tracked Tensors); calling kernelFuncs is how tfjs backends compose kernels.
 * Every intermediate is tracked here and freed by `finish()` / `abort()`.
 */
export class KernelRunner {
  private readonly made: tf.TensorInfo[] = [];

  constructor(readonly backend: WasmBackendLike, private readonly backendName = 'wasm') {}

  readonly run: Run = (kernelName, inputs, attrs = {}) => {
    const config = tf.getKernel(kernelName, this.backendName);
    if (config == null) {
      throw new Error(`kernel ${kernelName} is not registered for backend ${this.backendName}`);
    }
    const out = config.kernelFunc({ inputs, attrs, backend: this.backend as unknown as tf.KernelBackend });
    if (Array.isArray(out)) throw new Error(`kernel ${kernelName} returned several outputs; not supported here`);
    this.made.push(out);
    return out;
  };

  /**
   * A fresh float32 buffer on the wasm heap (uninitialised). Take heap views only after every allocation
   * of a step: an allocation may grow wasm memory, which detaches earlier views.
   */
  alloc(shape: number[]): tf.TensorInfo {
    const out = this.backend.makeOutput(shape, 'float32');
    this.made.push(out);
    return out;
  }

  view(info: tf.TensorInfo): Float32Array {
    return this.backend.typedArrayFromHeap(info) as Float32Array;
  }

  /** Frees every intermediate except `result`, which is handed to the engine as the kernel's output. */
  finish(result: tf.TensorInfo): tf.TensorInfo {
    for (const info of this.made) {
      if (info !== result) this.backend.disposeData(info.dataId);
    }
    this.made.length = 0;
    return result;
  }

  /** Frees everything (used when a kernel throws half-way). */
  abort(): void {
    for (const info of this.made) this.backend.disposeData(info.dataId);
    this.made.length = 0;
  }
}

/** Runs `body` with a runner whose intermediates are freed whatever happens. */
export function withRunner(backend: unknown, body: (r: KernelRunner) => tf.TensorInfo): tf.TensorInfo {
  const runner = new KernelRunner(backend as WasmBackendLike);
  try {
    return runner.finish(body(runner));
  } catch (err) {
    runner.abort();
    throw err;
  }
}
