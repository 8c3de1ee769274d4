import { tf } from '@selftrain/compute';
import { buildFpnBackbone, validateFpnOptions } from './fpn-backbone';
import { SeedSequence } from './initializers';
import { ResizeLike } from './resize-like';

export interface SegmenterSpec {
  /** [height, width, channels]: the nominal size; the model is fully convolutional and takes any size */
  inputShape: [number, number, number];
  /** classes including the background (class ids 0..numClasses-1; the ignore label is not one of them) */
  numClasses: number;
  /** backbone channel multiplier, default 1 */
  width?: number;
  /** FPN channels, default 32 */
  fpnChannels?: number;
  /** channels of the three 3x3 decoder convs, default fpnChannels */
  decoderChannels?: number;
  seed?: number;
}

/**
 * FPN segmenter (DESIGN's segmentation model at small scale): the FPN backbone with P2..P5, every level
 * upsampled bilinearly to P2's size and summed, three 3x3 convs (batch norm + ReLU), a 1x1 conv to the
 * class count, then bilinear upsampling to the input size. Outputs LOGITS [B, H, W, numClasses]; apply a
 * softmax over the last axis for probabilities (see predictSegmentation).
 * The input is [null, null, C], so one model serves every scale of multi-scale inference.
 */
export function buildSegmenter(spec: SegmenterSpec): tf.LayersModel {
  const [h, w, c] = spec.inputShape ?? [];
  for (const [k, v] of [['height', h], ['width', w], ['channels', c]] as const) {
    if (!Number.isInteger(v) || (v as number) < 1) throw new Error(`inputShape ${k} must be a positive integer, got ${v}`);
  }
  if (h < 32 || w < 32) throw new Error(`inputShape ${h}x${w} is too small for a segmenter (at least 32x32)`);
  if (!Number.isInteger(spec.numClasses) || spec.numClasses < 2) throw new Error(`numClasses must be an integer >= 2, got ${spec.numClasses}`);
  const fpn = { width: spec.width, fpnChannels: spec.fpnChannels ?? 32, minLevel: 2, maxLevel: 5 };
  validateFpnOptions(fpn);
  const decoder = spec.decoderChannels ?? fpn.fpnChannels;
  if (!Number.isInteger(decoder) || decoder < 1) throw new Error(`decoderChannels must be a positive integer, got ${decoder}`);
  const seeds = new SeedSequence(spec.seed);
  const input = tf.input({ shape: [null, null, c], name: 'image' });
  const [p2, ...higher] = buildFpnBackbone(input, fpn, seeds);
  const upsampled = higher.map((p, i) =>
    new ResizeLike({ method: 'bilinear', name: `decoder_upsample_p${i + 3}` }).apply([p, p2]) as tf.SymbolicTensor);
  let x = tf.layers.add({ name: 'decoder_sum' }).apply([p2, ...upsampled]) as tf.SymbolicTensor;
  for (let i = 1; i <= 3; i++) {
    x = tf.layers.conv2d({
      name: `decoder_conv${i}`, filters: decoder, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: seeds.he(),
    }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization({ name: `decoder_bn${i}`, momentum: 0.9, epsilon: 1e-5 }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.reLU({ name: `decoder_relu${i}` }).apply(x) as tf.SymbolicTensor;
  }
  x = tf.layers.conv2d({
    name: 'decoder_logits', filters: spec.numClasses, kernelSize: 1, kernelInitializer: seeds.glorot(), biasInitializer: 'zeros',
  }).apply(x) as tf.SymbolicTensor;
  const logits = new ResizeLike({ method: 'bilinear', name: 'logits' }).apply([x, input]) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits, name: 'fpn-segmenter-small' });
}
