import { tf } from '@selftrain/compute';

/**
 * How one shard's examples weigh in the whole batch's loss. Each partial loss is a sum over the shard
 * divided by the whole batch's count, so the shards' losses (and gradients) add up to exactly the
 * whole batch's: L = wh * mean(human CE) + wp * mean(pseudo CE), however the batch was split.
 */
export interface BatchLossScale {
  /** Human-labeled / pseudo-labeled examples in the whole batch (not the shard). */
  humanTotal: number;
  pseudoTotal: number;
  /** The loss normalizer's weights this step (1 and 0 for a teacher). */
  humanWeight: number;
  pseudoWeight: number;
  labelSmoothing: number;
}

// A type (not an interface) so tf.tidy accepts it as a TensorContainer.
export type ShardGradients = {
  /** One gradient per variable, in the order of the variables passed in; owned by the caller. */
  grads: tf.Tensor[];
  loss: number;
  /** Sums of the per-example cross-entropies over the shard's human / pseudo rows. */
  humanSum: number;
  pseudoSum: number;
  /** The value of `extraLoss`, when given. */
  extra: number;
};

/**
 * Gradients of one shard's part of the batch loss. `x` and `y` hold the shard's human rows first, then
 * its pseudo rows. `extraLoss` adds a term computed inside the same tape (joint training's auxiliary
 * head). Runs in the main thread and in every gradient worker, so the loss is defined once.
 */
export function shardGradients(
  model: tf.LayersModel, variables: tf.Variable[], x: tf.Tensor4D, y: tf.Tensor2D, humanCount: number,
  scale: BatchLossScale, extraLoss?: () => tf.Scalar,
): ShardGradients {
  return tf.tidy(() => {
    let humanSum: tf.Scalar | undefined;
    let pseudoSum: tf.Scalar | undefined;
    let extra: tf.Scalar | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const logits = model.apply(x, { training: true }) as tf.Tensor2D;
      const perExample = tf.losses.softmaxCrossEntropy(y, logits, undefined, scale.labelSmoothing, tf.Reduction.NONE) as tf.Tensor1D;
      const rows = perExample.shape[0];
      // Kept past variableGrads' own scope so they can be read below.
      humanSum = tf.keep(tf.sum(perExample.slice(0, humanCount)) as tf.Scalar);
      let loss: tf.Scalar = tf.mul(humanSum, scale.humanWeight / Math.max(scale.humanTotal, 1));
      if (scale.pseudoTotal > 0 && rows > humanCount) {
        pseudoSum = tf.keep(tf.sum(perExample.slice(humanCount, rows - humanCount)) as tf.Scalar);
        loss = tf.add(loss, tf.mul(pseudoSum, scale.pseudoWeight / scale.pseudoTotal));
      }
      if (extraLoss) {
        extra = tf.keep(extraLoss());
        loss = tf.add(loss, extra);
      }
      return loss;
    }, variables);
    const out = {
      grads: variables.map((v) => grads[v.name] ?? tf.zerosLike(v)),
      loss: value.dataSync()[0], humanSum: humanSum?.dataSync()[0] ?? 0, pseudoSum: pseudoSum?.dataSync()[0] ?? 0, extra: extra?.dataSync()[0] ?? NaN,
    };
    tf.dispose([humanSum, pseudoSum, extra].filter((t): t is tf.Scalar => t !== undefined));
    return out;
  });
}
