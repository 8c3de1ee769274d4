// The first values of every generator, as the code that made the stored datasets, checkpoints and test
// figures produced them: a change to any algorithm fails here, not as a drifted figure somewhere else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, mulberry32, nextLcgSeed, shuffleInPlace } from './index';

test('createRng (sfc32): the sequence augmentation and batching draw from', () => {
  const rng = createRng(42);
  assert.deepEqual([rng.uint32(), rng.uint32(), rng.uint32()], [2784860155, 1560037678, 3290702580]);
});

test('mulberry32: the sequence the stored dataset splits were drawn from', () => {
  const next = mulberry32(42);
  assert.deepEqual([next(), next(), next()], [0.6011037519201636, 0.44829055899754167, 0.8524657934904099]);
});

test('nextLcgSeed: the initializer seeds of a model built with seed 7', () => {
  const seeds: number[] = [];
  for (let s = 7, i = 0; i < 4; i++) seeds.push((s = nextLcgSeed(s)));
  assert.deepEqual(seeds, [1282168119, 317105069, 1620508279, 1518279928]);
});

test('shuffleInPlace permutes in place, the same way for the same generator', () => {
  const items = [0, 1, 2, 3, 4, 5, 6, 7];
  const shuffled = shuffleInPlace(items, mulberry32(1));
  assert.equal(shuffled, items);
  assert.deepEqual([...shuffled].sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(shuffleInPlace([0, 1, 2, 3, 4, 5, 6, 7], mulberry32(1)), shuffled);
});
