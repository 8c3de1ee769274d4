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

  exportState(): { name: string; shape: number[]; values: Float32Array }[] {
    return [...this.velocity.entries()].map(([name, t]) => ({ name, shape: t.shape, values: t.dataSync() as Float32Array }));
  }

  importState(state: { name: string; shape: number[]; values: Float32Array }[]): void {
    for (const s of state) {
      this.velocity.get(s.name)?.dispose();
      this.velocity.set(s.name, tf.variable(tf.tensor(s.values, s.shape), false));
    }
  }

  dispose(): void {
    for (const t of this.velocity.values()) t.dispose();
    this.velocity.clear();
  }
}
