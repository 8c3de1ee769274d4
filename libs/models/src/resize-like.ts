import { tf } from '@selftrain/compute';

export type ResizeMethod = 'nearest' | 'bilinear';

export interface ResizeLikeArgs {
  /** 'nearest' (FPN's top-down 2x upsampling) or 'bilinear' (segmentation decoder and output) */
  method?: ResizeMethod;
  name?: string;
}

/**
 * Resizes its first input [B,h,w,C] to the spatial size of its second [B,H,W,*] (only the shape of the
 * second is read; no gradient flows into it). Sizing from a reference instead of a fixed factor keeps the
 * FPN sum and the output size right for any input size (ceil rounding of strided convs included), which is
 * what multi-scale inference needs.
 * - nearest: alignCorners false, legacy centres: an integer factor repeats each pixel exactly.
 * - bilinear: alignCorners true. Not half-pixel centres: tfjs's ResizeBilinear gradient (cpu, wasm and
 *   tfjs-node alike) ignores halfPixelCenters, so a half-pixel forward would train on a wrong gradient;
 *   corner alignment is symmetric (no global shift) and its gradient is exact on every backend.
 */
export class ResizeLike extends tf.layers.Layer {
  static className = 'SelftrainResizeLike';
  readonly method: ResizeMethod;

  constructor(args: ResizeLikeArgs = {}) {
    super({ name: args.name });
    const method = args.method ?? 'nearest';
    if (method !== 'nearest' && method !== 'bilinear') throw new Error(`ResizeLike method must be nearest or bilinear, got ${method}`);
    this.method = method;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [x, ref] = inputShape as tf.Shape[];
    return [x[0], ref[1], ref[2], x[3]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [x, ref] = inputs as tf.Tensor[];
    return tf.tidy(() => resizeTo(x as tf.Tensor4D, [ref.shape[1] as number, ref.shape[2] as number], this.method));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), method: this.method };
  }
}

tf.serialization.registerClass(ResizeLike);

/** The resize ResizeLike applies (identity when the size already matches). */
export function resizeTo(x: tf.Tensor4D, size: [number, number], method: ResizeMethod): tf.Tensor4D {
  if (x.shape[1] === size[0] && x.shape[2] === size[1]) return x;
  return method === 'nearest'
    ? tf.image.resizeNearestNeighbor(x, size, false, false)
    : tf.image.resizeBilinear(x, size, true, false);
}
