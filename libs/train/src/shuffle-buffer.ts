import type { Rng } from '@selftrain/random';

/**
 * Random samples from a stream too large to hold: keeps `capacity` items, replacing each one drawn with
 * the next item from the stream, and restarts the stream (a new epoch) when it ends. Memory is bounded
 * by the capacity, whatever the size of the unlabeled set.
 */
export class ShuffleBuffer<T> {
  private readonly items: T[] = [];
  private iterator: AsyncIterator<T> | undefined;
  epochs = 0;

  constructor(
    private readonly open: () => AsyncIterable<T>,
    private readonly capacity: number,
    private readonly rng: Rng,
  ) {}

  async sample(n: number): Promise<T[]> {
    await this.fill();
    if (this.items.length === 0) throw new Error('the pseudo-label stream is empty');
    const out: T[] = [];
    for (let i = 0; i < n; i++) {
      const at = this.rng.int(this.items.length);
      out.push(this.items[at]);
      const next = await this.pull();
      if (next !== undefined) this.items[at] = next;
    }
    return out;
  }

  private async fill(): Promise<void> {
    while (this.items.length < this.capacity) {
      const next = await this.pull();
      if (next === undefined) return;
      this.items.push(next);
    }
  }

  /** The next streamed item; undefined only when a whole fresh pass yields nothing beyond what is held. */
  private async pull(): Promise<T | undefined> {
    for (let attempt = 0; attempt < 2; attempt++) {
      this.iterator ??= this.open()[Symbol.asyncIterator]();
      const r = await this.iterator.next();
      if (!r.done) return r.value;
      this.iterator = undefined;
      this.epochs += 1;
      // A stream smaller than the buffer is fully held: sampling from the buffer alone is an epoch.
      if (this.items.length > 0 && this.items.length < this.capacity) return undefined;
    }
    return undefined;
  }
}
