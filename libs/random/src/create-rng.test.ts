import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from './create-rng';

const draw = (seed: number, n = 20) => {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => rng.next());
};

test('same seed gives the same sequence; different seeds differ', () => {
  assert.deepEqual(draw(42), draw(42));
  assert.notDeepEqual(draw(42), draw(43));
  // High words of the seed matter too.
  assert.notDeepEqual(draw(0), draw(2 ** 32));
});

test('next is in [0, 1); int, uniform and bool respect their ranges', () => {
  const rng = createRng(7);
  const counts = new Array(5).fill(0);
  for (let i = 0; i < 5000; i++) {
    const x = rng.next();
    assert.ok(x >= 0 && x < 1);
    const k = rng.int(5);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 5);
    counts[k]++;
    const u = rng.uniform(0.5, 2);
    assert.ok(u >= 0.5 && u < 2);
  }
  for (const c of counts) assert.ok(c > 850 && c < 1150, `int(5) looks non-uniform: ${counts}`);
  assert.equal(rng.bool(0), false);
  assert.equal(rng.bool(1), true);
  assert.throws(() => rng.int(0), /positive integer, got 0/);
  assert.throws(() => createRng(NaN), /finite number, got NaN/);
});

test('fork is deterministic and independent of the parent stream', () => {
  const a = createRng(1);
  const b = createRng(1);
  const fa = a.fork();
  const fb = b.fork();
  assert.deepEqual([fa.next(), fa.next()], [fb.next(), fb.next()]);
  const parent = [a.next(), a.next()];
  const child = [fa.next(), fa.next()];
  assert.notDeepEqual(parent, child);
});
