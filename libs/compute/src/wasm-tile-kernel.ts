import * as tf from '@tensorflow/tfjs';
import type { WasmBackendLike } from './wasm-kernel-runner';

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: tf.NamedAttrMap };

/**
 * Tile for wasm with a fast path for "repeat the whole tensor along new leading axes" (every repeated
 * axis has size 1 and comes before all non-repeated ones), which is how batch norm's gradient broadcasts
 * [1,1,1,C] to [B,H,W,C]: one copy, then doubling copyWithin. Stock wasm's Tile is an element-wise loop
 * that was 28% of a resnet-small training step. Everything else goes to the stock kernel.
 */
export function makeTileWasm(stock: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { reps } = args.attrs as { reps: number[] };
    let lastRepeated = -1;
    for (let i = 0; i < reps.length; i++) if (reps[i] !== 1) lastRepeated = i;
    const leadingOnly = x.dtype === 'float32' && reps.length === x.shape.length &&
      reps.every((r, i) => i > lastRepeated || x.shape[i] === 1);
    if (!leadingOnly) return stock(args as unknown as Parameters<tf.KernelFunc>[0]);
    const backend = args.backend as WasmBackendLike;
    const outShape = x.shape.map((d, i) => d * reps[i]);
    const out = backend.makeOutput(outShape, 'float32');
    const xv = backend.typedArrayFromHeap(x) as Float32Array;
    const ov = backend.typedArrayFromHeap(out) as Float32Array;
    const block = xv.length;
    const total = ov.length;
    if (total === 0) return out;
    ov.set(xv, 0);
    for (let filled = block; filled < total; filled *= 2) {
      ov.copyWithin(filled, 0, Math.min(filled, total - filled));
    }
    return out;
  }) as unknown as tf.KernelFunc;
}
