import { tf } from '@selftrain/compute';
import type { ModelSpec } from './model-spec';
import type { SeedSequence } from './initializers';
import { StochasticDepth } from './stochastic-depth';

/** One stage of basic blocks: output channels, block count, stride of its first block. */
export interface ResidualStage {
  channels: number;
  blocks: number;
  stride: number;
}

/** The layers a ResNet is made of; kernels are seeded in creation order, so the build order fixes the weights. */
export interface ResnetLayers {
  conv(x: tf.SymbolicTensor, filters: number, kernelSize: number, strides: number, name: string): tf.SymbolicTensor;
  bn(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor;
  relu(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor;
}

export function resnetLayers(seeds: SeedSequence): ResnetLayers {
  return {
    conv: (x, filters, kernelSize, strides, name) =>
      tf.layers.conv2d({ name, filters, kernelSize, strides, padding: 'same', useBias: false, kernelInitializer: seeds.he() }).apply(x) as tf.SymbolicTensor,
    bn: (x, name) => tf.layers.batchNormalization({ name, momentum: 0.9, epsilon: 1e-5 }).apply(x) as tf.SymbolicTensor,
    relu: (x, name) => tf.layers.reLU({ name }).apply(x) as tf.SymbolicTensor,
  };
}

/**
 * Basic blocks (He et al. 2016: two 3x3 convs with batch norm; a 1x1 projection shortcut where the stride
 * or the channel count changes), named s<stage>b<block>_*. Stochastic depth: block l of L drops its
 * residual branch with rate finalRate * l / L (per example; see StochasticDepth), so the last block uses
 * exactly finalRate.
 */
export function residualStages(layers: ResnetLayers, x: tf.SymbolicTensor, channels: number, stages: readonly ResidualStage[], finalRate: number): tf.SymbolicTensor {
  const { conv, bn, relu } = layers;
  const totalBlocks = stages.reduce((n, s) => n + s.blocks, 0);
  let block = 0;
  stages.forEach(({ channels: out, blocks, stride: firstStride }, s) => {
    for (let b = 0; b < blocks; b++) {
      block += 1;
      const name = `s${s + 1}b${b + 1}`;
      const stride = b === 0 ? firstStride : 1;
      let r = relu(bn(conv(x, out, 3, stride, `${name}_conv1`), `${name}_bn1`), `${name}_relu1`);
      r = bn(conv(r, out, 3, 1, `${name}_conv2`), `${name}_bn2`);
      const shortcut = stride !== 1 || out !== channels ? bn(conv(x, out, 1, stride, `${name}_proj`), `${name}_proj_bn`) : x;
      const rate = (finalRate * block) / totalBlocks;
      const joined = new StochasticDepth({ rate, name: `${name}_join` }).apply([shortcut, r]) as tf.SymbolicTensor;
      x = relu(joined, `${name}_relu2`);
      channels = out;
    }
  });
  return x;
}

/** Global average pool, dropout, dense logits. */
export function classifierHead(x: tf.SymbolicTensor, spec: ModelSpec, seeds: SeedSequence, defaultDropout: number): tf.SymbolicTensor {
  x = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ name: 'dropout', rate: spec.dropout ?? defaultDropout }).apply(x) as tf.SymbolicTensor;
  return tf.layers.dense({ name: 'logits', units: spec.numClasses, kernelInitializer: seeds.glorot(), biasInitializer: 'zeros' }).apply(x) as tf.SymbolicTensor;
}
