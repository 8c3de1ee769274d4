import { tf } from '@selftrain/compute';

/**
 * SGD with momentum and L2 weight decay (applied to kernels only, not biases or norm parameters), with
 * the learning rate passed per step so any schedule can drive it. Its state (the velocities) can be
 * exported for checkpoints.
 */
export class SgdMomentum {
  private readonly velocity = new Map<string, tf.Variable>();

  constructor(
    private readonly momentum: number,
    private readonly weightDecay: number,
  ) {}

  apply(variables: tf.Variable[], grads: tf.NamedTensorMap, learningRate: number): void {
    tf.tidy(() => {
      for (const v of variables) {
        const g = grads[v.name];
        if (!g) continue;
        const decays = this.weightDecay > 0 && v.shape.length > 1;
        const grad = decays ? tf.add(g, tf.mul(v, this.weightDecay)) : g;
        let vel = this.velocity.get(v.name);
        if (!vel) {
          vel = tf.variable(tf.zerosLike(v), false);
          this.velocity.set(v.name, vel);
        }
        vel.assign(tf.add(tf.mul(vel, this.momentum), grad));
        v.assign(tf.sub(v, tf.mul(vel, learningRate)));
      }
    });
  }

  /**
   * The velocities in the order of `variables` (names are process-global counters in TF.js, so a model
   * rebuilt in a new process may name its variables differently; the order is stable). Null where a
   * variable has no velocity yet.
   */
  exportState(variables: tf.Variable[]): (Float32Array | null)[] {
    return variables.map((v) => (this.velocity.get(v.name)?.dataSync() as Float32Array | undefined) ?? null);
  }

  importState(variables: tf.Variable[], state: (Float32Array | null)[]): void {
    if (state.length !== variables.length) throw new Error(`optimizer state has ${state.length} entries, the model ${variables.length} variables`);
    variables.forEach((v, i) => {
      const values = state[i];
      if (!values) return;
      if (values.length !== v.size) throw new Error(`optimizer state ${i} has ${values.length} values, variable ${v.name} ${v.size}`);
      this.velocity.get(v.name)?.dispose();
      this.velocity.set(v.name, tf.variable(tf.tensor(values, v.shape), false));
    });
  }

  dispose(): void {
    for (const t of this.velocity.values()) t.dispose();
    this.velocity.clear();
  }
}
