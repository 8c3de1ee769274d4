import { tf } from '@selftrain/compute';
import type { ModelSpec } from './model-spec';
import { SeedSequence } from './initializers';
import { classifierHead, residualStages, resnetLayers } from './residual-stages';

/** Stages of resnet-small: [channels, blocks, stride of the first block]. */
const STAGES: [number, number, number][] = [[16, 2, 1], [32, 2, 2], [64, 2, 2]];

/**
 * resnet-small: a CIFAR-style ResNet-14 (He et al. 2016): conv3x3 16 stem, three stages of two basic
 * blocks (16, 32, 64 channels; the 2nd and 3rd stages start with stride 2 and a 1x1 projection
 * shortcut), global average pool, dropout, dense logits. Batch norm after every conv.
 * Stochastic depth: block l of L drops its residual branch with rate stochasticDepth * l / L
 * (per example; see StochasticDepth), so the last block uses exactly `stochasticDepth`.
 */
export function buildResnetSmall(spec: ModelSpec): tf.LayersModel {
  const width = spec.width ?? 1;
  const ch = (n: number) => Math.max(1, Math.round(n * width));
  const seeds = new SeedSequence(spec.seed);
  const layers = resnetLayers(seeds);
  const input = tf.input({ shape: spec.inputShape, name: 'image' });
  const { conv, bn, relu } = layers;
  let x = relu(bn(conv(input, ch(16), 3, 1, 'stem_conv'), 'stem_bn'), 'stem_relu');
  const stages = STAGES.map(([channels, blocks, stride]) => ({ channels: ch(channels), blocks, stride }));
  x = residualStages(layers, x, ch(16), stages, spec.stochasticDepth ?? 0);
  return tf.model({ inputs: input, outputs: classifierHead(x, spec, seeds, 0.2), name: 'resnet-small' });
}
