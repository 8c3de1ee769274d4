import * as tf from '@tensorflow/tfjs';

// tf.layers' Conv2D runs tf.fused.conv2d. Under a gradient tape with a linear activation (every ResNet conv:
// batch norm follows it) that op records one node whose gradient computes the input's, the filter's and
// the bias's derivatives together, needed or not. The model's first conv never needs its input's (the
// image batch): on ResNet-10 w32 at batch 128 it cost 7.9 ms a step, on the OpenBLAS path (3 input
// channels are too few for oneDNN: convRoute), which stays on one core. Here, on wasm under a tape,
// conv2d and the bias add run as two ops, as TF.js itself does for any other activation there; their
// stock gradients compute only what the tape asks for. The kernels are the same ones (a bias-free conv
// is the same call), so the values are too.

type FusedConv2dArgs = Parameters<typeof tf.fused.conv2d>[0];

let stockFusedConv2d: typeof tf.fused.conv2d | undefined;

function unfusedUnderTape(args: FusedConv2dArgs): tf.Tensor3D | tf.Tensor4D {
  const stock = stockFusedConv2d!;
  const activation = args.activation ?? 'linear';
  if (tf.engine().state.gradientDepth === 0 || activation !== 'linear' || (args.dataFormat ?? 'NHWC') !== 'NHWC' || tf.getBackend() !== 'wasm') {
    return stock(args);
  }
  const { x, filter, strides, pad, dilations, dimRoundingMode, bias } = args;
  const y = tf.conv2d(x as tf.Tensor4D, filter, strides, pad, 'NHWC', dilations ?? [1, 1], dimRoundingMode);
  return bias == null ? y : tf.add(y, bias);
}

/** Makes tf.fused.conv2d run unfused under a gradient tape on wasm (see the file's comment). */
export function installUnfusedTrainingConv(): void {
  if (stockFusedConv2d != null) return;
  stockFusedConv2d = tf.fused.conv2d;
  (tf.fused as { conv2d: typeof tf.fused.conv2d }).conv2d = unfusedUnderTape as typeof tf.fused.conv2d;
}

/** Puts TF.js's own tf.fused.conv2d back. */
export function uninstallUnfusedTrainingConv(): void {
  if (stockFusedConv2d == null) return;
  (tf.fused as { conv2d: typeof tf.fused.conv2d }).conv2d = stockFusedConv2d;
  stockFusedConv2d = undefined;
}
