// Runs an async step over a list with a bounded number in flight, handing results on in list order: reads
// overlap (a file system or bucket answers many at once) while what consumes them sees a fixed order.

/**
 * Calls `fn` on every index below `count`, at most `limit` at a time, and `each` on the results in index
 * order. Memory is bounded by `limit` results; the list itself is the caller's (by index, so it can be a
 * compact table rather than an array of objects). The first rejection (of `fn` or `each`) stops new calls
 * and is thrown once the calls in flight settle.
 */
export async function forEachOrdered<R>(count: number, limit: number, fn: (index: number) => Promise<R>, each: (result: R, index: number) => void | Promise<void>): Promise<void> {
  const window: Promise<R>[] = [];
  let next = 0;
  const launch = () => {
    while (window.length < limit && next < count) {
      const p = fn(next++);
      // Settled later in order; a rejection here must not count as unhandled meanwhile.
      p.catch(() => {});
      window.push(p);
    }
  };
  launch();
  let done = 0;
  try {
    while (window.length > 0) {
      const r = await window.shift()!;
      await each(r, done);
      done++;
      launch();
    }
  } finally {
    await Promise.allSettled(window);
  }
}
