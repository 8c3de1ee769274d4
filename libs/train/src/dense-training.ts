import { tf } from '@selftrain/compute';
import type { ImageShape } from './batch';
import type { DenseExample } from './dense-batch';
import type { PseudoLabelSettings, StepContext, StepLosses, TrainingLoopInput } from './training-loop';

/** Where pseudo-labeled dense examples come from (a ShuffleBuffer<DenseExample> over the pseudo-label shards). */
export type DensePseudoLabelSettings = PseudoLabelSettings<DenseExample>;

/** What trainDetector and trainSegmenter take besides their model's own settings. */
export interface DenseTrainingInput extends TrainingLoopInput<DenseExample> {
  model: tf.LayersModel;
  shape: ImageShape;
  validation: DenseExample[];
}

/**
 * One SGD step on L = w_h·L_h + w_p·L_p, the LossNormalizer's weights applied to the two halves'
 * losses that `halves` computes inside the gradient tape (no pseudo half: L = L_h). The partial losses
 * are kept past variableGrads' own scope so the normalizer can read them.
 */
export function weightedHalvesStep(variables: tf.Variable[], ctx: StepContext, halves: () => { human: tf.Scalar; pseudo?: tf.Scalar }): StepLosses {
  let lh: tf.Scalar | undefined;
  let lp: tf.Scalar | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const l = halves();
    lh = tf.keep(l.human);
    if (!l.pseudo) return tf.mul(lh, 1) as tf.Scalar;
    lp = tf.keep(l.pseudo);
    return tf.add(tf.mul(lh, ctx.weights.human), tf.mul(lp, ctx.weights.pseudo)) as tf.Scalar;
  }, variables);
  ctx.optimizer.apply(variables, grads, ctx.learningRate);
  const values: StepLosses = { loss: value.dataSync()[0], human: lh?.dataSync()[0] ?? NaN, pseudo: lp?.dataSync()[0] ?? NaN };
  lh?.dispose();
  lp?.dispose();
  return values;
}

/** Validation examples as records the evaluator's scoring takes (keyed by their index). */
export function validationRecords(examples: readonly DenseExample[], shape: ImageShape): (DenseExample & { key: string; height: number; width: number; channels: number })[] {
  return examples.map((ex, i) => ({ ...ex, key: `validation[${i}]`, ...shape }));
}
