/**
 * Runs the work it is given one at a time, in arrival order. The labeler runs one shard's inference at a
 * time: with two shards in flight, the second one's fetch and decode then happen during the first one's
 * inference, and its inference starts the moment the first one's ends. Run side by side, both shards'
 * inferences ended together and the CPU waited on both next shards' I/O.
 */
export class OneAtATime {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work);
    // The next one waits for this one to settle, failed or not.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
