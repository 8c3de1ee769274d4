import { tf } from '@selftrain/compute';

export interface StochasticDepthArgs {
  /** probability of dropping the residual branch (per example) during training */
  rate: number;
  name?: string;
}

/**
 * Residual join with stochastic depth (Huang et al. 2016): inputs [shortcut, residual].
 * Training: each example keeps its residual branch with probability 1 - rate (a per-example Bernoulli
 * draw, not per batch) and the branch is not rescaled. Inference: the branch is scaled by its survival
 * probability 1 - rate, so the expected output matches training.
 * Unseeded on purpose: a fixed seed would draw the same mask at every step.
 */
export class StochasticDepth extends tf.layers.Layer {
  static className = 'SelftrainStochasticDepth';
  readonly rate: number;

  constructor(args: StochasticDepthArgs) {
    super({ name: args.name });
    if (!(args.rate >= 0 && args.rate < 1)) {
      throw new Error(`StochasticDepth rate must be in [0, 1), got ${args.rate}`);
    }
    this.rate = args.rate;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return Array.isArray(inputShape[0]) ? (inputShape as tf.Shape[])[0] : (inputShape as tf.Shape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const [shortcut, residual] = inputs as tf.Tensor[];
    return tf.tidy(() => {
      if (this.rate === 0) return tf.add(shortcut, residual);
      const keep = 1 - this.rate;
      if (kwargs.training !== true) return tf.add(shortcut, tf.mul(residual, keep));
      const maskShape = [residual.shape[0] as number, ...residual.shape.slice(1).map(() => 1)];
      const mask = tf.floor(tf.add(tf.randomUniform(maskShape, 0, 1), keep));
      return tf.add(shortcut, tf.mul(residual, mask));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate };
  }
}

tf.serialization.registerClass(StochasticDepth);
