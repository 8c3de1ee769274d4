import type { tf } from '@selftrain/compute';

/** A model's trainable weights as the variables gradients and optimizers work on (LayersVariable hides them as `val`). */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
}

/** The variables' shapes in order, e.g. "3x3x1x16,16,...": equal for two models that can trade weights by position. */
export function variableShapes(model: tf.LayersModel): string {
  return model.trainableWeights.map((w) => w.shape.join('x')).join(',');
}
