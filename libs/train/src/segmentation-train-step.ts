import { tf } from '@selftrain/compute';
import { segmentationCrossEntropy } from './segmentation-loss';
import type { SgdMomentum } from './sgd-momentum';
import { trainableVariables } from './trainable-variables';

/**
 * One SGD step of a segmenter (buildSegmenter): training-mode forward, ignore-label cross-entropy,
 * gradients over the trainable weights, optimizer update. Returns the loss (before the update).
 */
export function segmentationTrainStep(
  model: tf.LayersModel, images: tf.Tensor4D, labels: tf.Tensor3D, optimizer: SgdMomentum, learningRate: number,
  opts: { ignoreLabel?: number } = {},
): number {
  const variables = trainableVariables(model);
  return tf.tidy(() => {
    const { value, grads } = tf.variableGrads(
      () => segmentationCrossEntropy(model.apply(images, { training: true }) as tf.Tensor4D, labels, opts), variables);
    optimizer.apply(variables, grads, learningRate);
    return value.dataSync()[0];
  });
}
