import { tf } from '@selftrain/compute';
import { ModelSpec, validateSpec } from './model-spec';
import { buildCnnSmall } from './cnn-small';
import { buildResnetSmall } from './resnet-small';
import { buildResnet18 } from './resnet18';

/** Builds a zoo model from its spec. The model outputs LOGITS; apply softmax for probabilities. */
export function buildModel(spec: ModelSpec): tf.LayersModel {
  validateSpec(spec);
  switch (spec.name) {
    case 'cnn-small':
      return buildCnnSmall(spec);
    case 'resnet-small':
      return buildResnetSmall(spec);
    case 'resnet18':
      return buildResnet18(spec);
  }
}

/**
 * Logits in training mode (dropout and stochastic depth active, batch norm on batch statistics).
 * Same as `model.apply(x, { training: true })`; measured no slower than predict's path, since the time is
 * all in the kernels. Call it inside tf.variableGrads / tf.tidy.
 */
export function forwardTrain(model: tf.LayersModel, x: tf.Tensor): tf.Tensor {
  return model.apply(x, { training: true }) as tf.Tensor;
}
