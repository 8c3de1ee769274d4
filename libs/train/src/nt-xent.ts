import { tf } from '@selftrain/compute';

/** SimCLR's default temperature (Chen et al. 2020, table 5: 0.5 for their batch sizes). */
export const NT_XENT_DEFAULT_TEMPERATURE = 0.5;

// Subtracted from the self-similarity logits, as in the reference code: exp() of it is exactly 0 in
// float32, so a view never counts as its own negative, and the gradient through it is zero.
const LARGE_NUM = 1e9;

export interface NtXent {
  /** Mean over all 2N anchors of -log softmax(sim_i)[pos(i)]. */
  loss: tf.Scalar;
  /** Fraction of the 2N anchors whose most similar other view is their positive (chance: 1/(2N-1)). */
  accuracy: tf.Scalar;
}

/**
 * NT-Xent (normalized temperature-scaled cross entropy), SimCLR's contrastive loss. `a` and `b` are the
 * projections [N, D] of two views of the same N images: row i of `a` and row i of `b` are a positive pair,
 * every other of the 2N views a negative. z = l2-normalize(concat(a, b)); sim = z zᵀ / τ with the diagonal
 * masked out; loss = mean_i -log softmax(sim_i)[pos(i)], pos(i) = i ± N.
 *
 * This is the paper's L = 1/(2N) Σ_k [ℓ(2k-1, 2k) + ℓ(2k, 2k-1)]. The reference code
 * (google-research/simclr objective.py, add_contrastive_loss) returns loss_a + loss_b, each a mean over
 * N anchors, which is twice this value: the same gradient direction, a learning rate twice as large.
 *
 * Differentiable (call inside tf.variableGrads); the accuracy carries no useful gradient.
 */
export function ntXent(a: tf.Tensor2D, b: tf.Tensor2D, temperature = NT_XENT_DEFAULT_TEMPERATURE): NtXent {
  if (a.rank !== 2 || a.shape.join() !== b.shape.join()) throw new Error(`ntXent: views must be two [N, D] tensors of one shape, got [${a.shape}] and [${b.shape}]`);
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new Error(`ntXent: temperature must be a positive number, got ${temperature}`);
  const n = a.shape[0];
  if (n < 1) throw new Error('ntXent: needs at least one pair of views');
  return tf.tidy(() => {
    const z = l2NormalizeRows(tf.concat([a, b], 0));
    const sim = tf.div(tf.matMul(z, z, false, true), temperature);
    const logits = tf.sub(sim, tf.mul(tf.eye(2 * n), LARGE_NUM));
    const positive = tf.concat([tf.range(n, 2 * n, 1, 'int32'), tf.range(0, n, 1, 'int32')]) as tf.Tensor1D;
    const targets = tf.oneHot(positive, 2 * n);
    const loss = tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), 1))) as tf.Scalar;
    const accuracy = tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), positive), 'float32')) as tf.Scalar;
    return { loss, accuracy };
  });
}

/** x / max(‖x‖, 1e-6) per row, as tf.math.l2_normalize (epsilon 1e-12 on the squared norm). */
function l2NormalizeRows(x: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(x, tf.rsqrt(tf.maximum(tf.sum(tf.square(x), 1, true), 1e-12)));
}
