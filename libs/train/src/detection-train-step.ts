import { tf } from '@selftrain/compute';
import { retinaNetLoss, type DetectionLossOptions } from './detection-loss';
import type { DetectionTargetTensors } from './detection-targets';
import type { SgdMomentum } from './sgd-momentum';
import { trainableVariables } from './trainable-variables';

export interface DetectionStepLoss {
  total: number;
  classification: number;
  box: number;
}

/**
 * One SGD step of a RetinaNet (buildRetinaNet) on a batch: training-mode forward, retinaNetLoss, gradients
 * over the model's trainable weights, optimizer update. Returns the loss values (before the update).
 */
export function detectionTrainStep(
  model: tf.LayersModel, images: tf.Tensor4D, targets: DetectionTargetTensors, optimizer: SgdMomentum, learningRate: number,
  opts: DetectionLossOptions = {},
): DetectionStepLoss {
  const variables = trainableVariables(model);
  return tf.tidy(() => {
    let parts: tf.Scalar[] = [];
    const { value, grads } = tf.variableGrads(() => {
      const loss = retinaNetLoss(model.apply(images, { training: true }) as tf.Tensor[], targets, opts);
      parts = [tf.keep(loss.classification), tf.keep(loss.box)];
      return loss.total;
    }, variables);
    optimizer.apply(variables, grads, learningRate);
    const result = { total: value.dataSync()[0], classification: parts[0].dataSync()[0], box: parts[1].dataSync()[0] };
    tf.dispose(parts);
    return result;
  });
}
