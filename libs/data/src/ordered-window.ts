// Runs an async step over a list with a bounded number in flight, handing results on in list order: reads
// overlap (a file system or bucket answers many at once) while what consumes them sees a fixed order.

/**
 * Calls `fn` on every item, at most `limit` at a time, and `each` on the results in item order. Memory is
 * bounded by `limit` results. The first rejection (of `fn` or `each`) stops new calls and is thrown once the
 * calls in flight settle.
 */
export async function forEachOrdered<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>, each: (result: R, item: T, index: number) => void | Promise<void>): Promise<void> {
  const window: Promise<R>[] = [];
  let next = 0;
  const launch = () => {
    while (window.length < limit && next < items.length) {
      const i = next++;
      const p = fn(items[i], i);
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
      await each(r, items[done], done);
      done++;
      launch();
    }
  } finally {
    await Promise.allSettled(window);
  }
}
