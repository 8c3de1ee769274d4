import { encodeOnnx } from '../export-onnx';
import { OnnxGraphBuilder, onnxModel } from '../onnx-graph-builder';

/**
 * A model that did not come from selftrain's exporter, as a PyTorch user's might look: one NCHW (or NHWC)
 * image input, Flatten, Gemm. `weights` is [K, C*H*W] in the input's flattened order, `bias` [K].
 * `batch` fixes the batch dimension (torch.onnx.export without dynamic_axes does); free by default.
 */
export function linearClassifierOnnx(opts: {
  channels: number; height: number; width: number; weights: Float32Array; bias: Float32Array;
  layout?: 'NCHW' | 'NHWC'; inputName?: string; outputName?: string; batch?: number; softmax?: boolean;
}): Uint8Array {
  const { channels: C, height: H, width: W, weights, bias } = opts;
  const K = bias.length;
  const g = new OnnxGraphBuilder();
  const dims = (opts.layout ?? 'NCHW') === 'NCHW' ? [C, H, W] : [H, W, C];
  const input = g.input(opts.inputName ?? 'input', [opts.batch ?? 'batch', ...dims]);
  const outName = opts.outputName ?? 'output';
  g.reserve(outName);
  const flat = g.op('Flatten', [input], 'flat', { axis: 1 });
  const w = g.floatInitializer('fc_weight', [K, C * H * W], weights);
  const b = g.floatInitializer('fc_bias', [K], bias);
  if (opts.softmax) {
    const logits = g.op('Gemm', [flat, w, b], 'logits', { transB: 1 });
    g.node('Softmax', [logits], [outName], { axis: 1 });
  } else {
    g.node('Gemm', [flat, w, b], [outName], { transB: 1 });
  }
  g.output(outName, [opts.batch ?? 'batch', K]);
  return encodeOnnx(onnxModel(g.graph('linear'), {}, '0', 'a hand-built linear classifier'));
}
