import { tf } from '@selftrain/compute';
import { nextLcgSeed } from '@selftrain/random';

/**
 * Hands out one initializer seed per layer from the model seed, in build order, so the same spec and
 * seed always give the same initial weights (and different layers never share a seed).
 */
export class SeedSequence {
  private next: number;
  constructor(private readonly seed: number | undefined) {
    this.next = seed ?? 0;
  }

  private take(): number | undefined {
    if (this.seed == null) return undefined;
    this.next = nextLcgSeed(this.next);
    return this.next;
  }

  /** He-normal for layers followed by a ReLU. */
  he(): ReturnType<typeof tf.initializers.heNormal> {
    return tf.initializers.heNormal({ seed: this.take() });
  }

  /** Glorot-uniform for the linear classifier. */
  glorot(): ReturnType<typeof tf.initializers.heNormal> {
    return tf.initializers.glorotUniform({ seed: this.take() });
  }

  /** Gaussian with a small fixed std (RetinaNet's init of its head's output convs: 0.01). */
  normal(stddev: number): ReturnType<typeof tf.initializers.heNormal> {
    return tf.initializers.randomNormal({ mean: 0, stddev, seed: this.take() });
  }
}
