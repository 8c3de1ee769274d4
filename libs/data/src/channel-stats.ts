// Per-channel mean and standard deviation of a split's pixels, accumulated image by image (an ingest
// never holds the split), on the 0..1 scale models normalise with (torchvision's Normalize convention).

export interface ChannelMoments {
  /** Per channel, pixel / 255 averaged over every pixel seen. */
  mean: number[];
  /** Per channel, the population standard deviation on the same scale. */
  std: number[];
  pixels: number;
}

/** ChannelStats' running sums as JSON (a shard receipt keeps them): integers, so they add up exactly. */
export interface ChannelSums {
  sum: number[];
  sumSq: number[];
  pixels: number;
}

/**
 * Sums of v and v^2 per channel in float64: exact for 8-bit values up to 2^53 / 255^2 (about 1.4e11)
 * pixels, so the result does not depend on the order images arrive in; partial sums from worker threads
 * add up with merge().
 */
export class ChannelStats {
  private readonly sum: Float64Array;
  private readonly sumSq: Float64Array;
  private count = 0;

  constructor(readonly channels: number) {
    if (!Number.isInteger(channels) || channels < 1) throw new Error(`channels must be a positive integer, got ${channels}`);
    this.sum = new Float64Array(channels);
    this.sumSq = new Float64Array(channels);
  }

  /** One HWC uint8 image with this.channels channels. */
  add(pixels: Uint8Array): void {
    const C = this.channels;
    if (pixels.length % C !== 0) throw new Error(`${pixels.length} bytes is not a whole number of ${C}-channel pixels`);
    for (let c = 0; c < C; c++) {
      // Integer partial sums per image stay exact in a double and are cheap.
      let s = 0;
      let sq = 0;
      for (let i = c; i < pixels.length; i += C) {
        const v = pixels[i];
        s += v;
        sq += v * v;
      }
      this.sum[c] += s;
      this.sumSq[c] += sq;
    }
    this.count += pixels.length / C;
  }

  merge(other: ChannelStats): void {
    if (other.channels !== this.channels) throw new Error(`cannot merge ${other.channels}-channel stats into ${this.channels}-channel stats`);
    for (let c = 0; c < this.channels; c++) {
      this.sum[c] += other.sum[c];
      this.sumSq[c] += other.sumSq[c];
    }
    this.count += other.count;
  }

  toSums(): ChannelSums {
    return { sum: Array.from(this.sum), sumSq: Array.from(this.sumSq), pixels: this.count };
  }

  static fromSums(s: ChannelSums): ChannelStats {
    const stats = new ChannelStats(s.sum.length);
    stats.sum.set(s.sum);
    stats.sumSq.set(s.sumSq);
    stats.count = s.pixels;
    return stats;
  }

  moments(): ChannelMoments {
    const n = this.count;
    const mean: number[] = [];
    const std: number[] = [];
    for (let c = 0; c < this.channels; c++) {
      const m = n > 0 ? this.sum[c] / n : 0;
      const variance = n > 0 ? Math.max(0, this.sumSq[c] / n - m * m) : 0;
      mean.push(m / 255);
      std.push(Math.sqrt(variance) / 255);
    }
    return { mean, std, pixels: n };
  }
}
