import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OneAtATime } from './one-at-a-time';

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('work runs one at a time, in arrival order, and a failure does not hold up the next', async () => {
  const queue = new OneAtATime();
  const log: string[] = [];
  let running = 0;
  const work = (name: string, fail = false) => queue.run(async () => {
    running++;
    assert.equal(running, 1, `${name} started while another ran`);
    log.push(`start ${name}`);
    await tick();
    await tick();
    log.push(`end ${name}`);
    running--;
    if (fail) throw new Error(`${name} failed`);
    return name;
  });
  const results = await Promise.allSettled([work('a'), work('b', true), work('c')]);
  assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  assert.deepEqual(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)), ['a', 'b failed', 'c']);
});
