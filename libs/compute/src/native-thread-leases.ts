import { setNativeThreads } from './native-cpu-kernels';

/**
 * Native threads held by running jobs on this thread: the count is the largest one held, and 1 once none
 * is (setNativeThreads is one setting per JS thread, and a service may run two training jobs at once).
 */
const held: number[] = [];

function apply(): void {
  setNativeThreads(held.length === 0 ? 1 : Math.max(...held));
}

/**
 * Runs `fn` with `threads` native threads inside each kernel call of this JS thread (oneDNN's team and the
 * batch norm passes: one training step on several cores), and gives them back when it settles.
 */
export async function withNativeThreads<T>(threads: number, fn: () => Promise<T>): Promise<T> {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`native threads must be an integer >= 1, got ${threads}`);
  held.push(threads);
  apply();
  try {
    return await fn();
  } finally {
    held.splice(held.indexOf(threads), 1);
    apply();
  }
}
