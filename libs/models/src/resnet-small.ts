import { tf } from '@selftrain/compute';
import type { ModelSpec } from './model-spec';
import { SeedSequence } from './initializers';
import { StochasticDepth } from './stochastic-depth';

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
  const totalBlocks = STAGES.reduce((n, [, blocks]) => n + blocks, 0);
  const finalRate = spec.stochasticDepth ?? 0;

  const conv = (x: tf.SymbolicTensor, filters: number, kernelSize: number, strides: number, name: string) =>
    tf.layers.conv2d({
      name, filters, kernelSize, strides, padding: 'same', useBias: false, kernelInitializer: seeds.he(),
    }).apply(x) as tf.SymbolicTensor;
  const bn = (x: tf.SymbolicTensor, name: string) =>
    tf.layers.batchNormalization({ name, momentum: 0.9, epsilon: 1e-5 }).apply(x) as tf.SymbolicTensor;
  const relu = (x: tf.SymbolicTensor, name: string) =>
    tf.layers.reLU({ name }).apply(x) as tf.SymbolicTensor;

  const input = tf.input({ shape: spec.inputShape, name: 'image' });
  let x = relu(bn(conv(input, ch(16), 3, 1, 'stem_conv'), 'stem_bn'), 'stem_relu');
  let channels = ch(16);
  let block = 0;
  STAGES.forEach(([base, blocks, firstStride], s) => {
    for (let b = 0; b < blocks; b++) {
      block += 1;
      const name = `s${s + 1}b${b + 1}`;
      const stride = b === 0 ? firstStride : 1;
      const out = ch(base);
      let r = relu(bn(conv(x, out, 3, stride, `${name}_conv1`), `${name}_bn1`), `${name}_relu1`);
      r = bn(conv(r, out, 3, 1, `${name}_conv2`), `${name}_bn2`);
      const shortcut = stride !== 1 || out !== channels
        ? bn(conv(x, out, 1, stride, `${name}_proj`), `${name}_proj_bn`)
        : x;
      const rate = (finalRate * block) / totalBlocks;
      const joined = new StochasticDepth({ rate, name: `${name}_join` }).apply([shortcut, r]) as tf.SymbolicTensor;
      x = relu(joined, `${name}_relu2`);
      channels = out;
    }
  });
  x = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ name: 'dropout', rate: spec.dropout ?? 0.2 }).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({
    name: 'logits', units: spec.numClasses, kernelInitializer: seeds.glorot(), biasInitializer: 'zeros',
  }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits, name: 'resnet-small' });
}
