import { tf } from '@selftrain/compute';
import type { ModelSpec } from './model-spec';
import { SeedSequence } from './initializers';
import { classifierHead, residualStages, resnetLayers } from './residual-stages';

/** ResNet-18's stages: 64, 128, 256, 512 channels at width 1; every stage after the first halves the size. */
const STAGE_CHANNELS = [64, 128, 256, 512];
export const RESNET18_BLOCKS: readonly number[] = [2, 2, 2, 2];

/** Inputs up to this side get the CIFAR stem (3x3, stride 1, no pooling); larger ones ImageNet's. */
export const RESNET18_SMALL_STEM_MAX_SIDE = 64;

/**
 * resnet18: ResNet-18 (He et al. 2016) for grey or RGB photos of 32-224 px. The stem fits the input:
 * up to 64 px the CIFAR ResNets' 3x3 stride-1 conv (a 32x32 image keeps its 32x32 grid into the first
 * stage, as in the paper's CIFAR models); above it ImageNet's 7x7 stride-2 conv and 3x3 stride-2 max pool
 * (224 px reaches the first stage at 56x56). Then four stages of basic blocks (spec.blocks, default
 * [2, 2, 2, 2]) at 64, 128, 256, 512 channels times spec.width, strides 1, 2, 2, 2; global average pool,
 * dropout (default 0.2), dense logits. Stochastic depth as in resnet-small (linear in depth).
 */
export function buildResnet18(spec: ModelSpec): tf.LayersModel {
  const width = spec.width ?? 1;
  const ch = (n: number) => Math.max(1, Math.round(n * width));
  const seeds = new SeedSequence(spec.seed);
  const layers = resnetLayers(seeds);
  const { conv, bn, relu } = layers;
  const [h, w] = spec.inputShape;
  const input = tf.input({ shape: spec.inputShape, name: 'image' });
  let x: tf.SymbolicTensor;
  if (Math.max(h, w) <= RESNET18_SMALL_STEM_MAX_SIDE) {
    x = relu(bn(conv(input, ch(64), 3, 1, 'stem_conv'), 'stem_bn'), 'stem_relu');
  } else {
    x = relu(bn(conv(input, ch(64), 7, 2, 'stem_conv'), 'stem_bn'), 'stem_relu');
    x = tf.layers.maxPooling2d({ name: 'stem_pool', poolSize: 3, strides: 2, padding: 'same' }).apply(x) as tf.SymbolicTensor;
  }
  const blocks = spec.blocks ?? RESNET18_BLOCKS;
  const stages = STAGE_CHANNELS.map((c, i) => ({ channels: ch(c), blocks: blocks[i], stride: i === 0 ? 1 : 2 }));
  x = residualStages(layers, x, ch(64), stages, spec.stochasticDepth ?? 0);
  return tf.model({ inputs: input, outputs: classifierHead(x, spec, seeds, 0.2), name: 'resnet18' });
}
