/**
 * The paper's loss normalization for self-training:
 *   L = 1/(1+alpha) * (L_h + alpha * (Lbar_h / Lbar_p) * L_p)
 * with Lbar_* running averages, so the pseudo-label loss is rescaled to the human-label loss's magnitude
 * and a high alpha cannot blow training up. Running averages are exponential with `decay`.
 */
export class LossNormalizer {
  private humanAvg = 0;
  private pseudoAvg = 0;
  private seen = 0;

  constructor(
    readonly alpha: number,
    private readonly decay = 0.99,
    private readonly enabled = true,
  ) {}

  /** Records this step's losses; returns the weights to apply to L_h and L_p. */
  update(humanLoss: number, pseudoLoss: number): { human: number; pseudo: number } {
    if (Number.isFinite(humanLoss) && Number.isFinite(pseudoLoss)) {
      // Bias-corrected EMA: the first steps are not dragged toward zero.
      this.seen += 1;
      this.humanAvg = this.decay * this.humanAvg + (1 - this.decay) * humanLoss;
      this.pseudoAvg = this.decay * this.pseudoAvg + (1 - this.decay) * pseudoLoss;
    }
    return this.weights();
  }

  weights(): { human: number; pseudo: number } {
    const norm = 1 / (1 + this.alpha);
    if (!this.enabled) return { human: 1, pseudo: this.alpha };
    const ratio = this.pseudoRunning() > 1e-8 ? this.humanRunning() / this.pseudoRunning() : 1;
    return { human: norm, pseudo: norm * this.alpha * ratio };
  }

  humanRunning(): number {
    return this.seen ? this.humanAvg / (1 - this.decay ** this.seen) : 0;
  }

  pseudoRunning(): number {
    return this.seen ? this.pseudoAvg / (1 - this.decay ** this.seen) : 0;
  }

  state(): { humanAvg: number; pseudoAvg: number; seen: number } {
    return { humanAvg: this.humanAvg, pseudoAvg: this.pseudoAvg, seen: this.seen };
  }

  restore(s: { humanAvg: number; pseudoAvg: number; seen: number }): void {
    this.humanAvg = s.humanAvg;
    this.pseudoAvg = s.pseudoAvg;
    this.seen = s.seen;
  }
}
