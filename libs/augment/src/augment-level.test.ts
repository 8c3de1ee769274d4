import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAugmentLevel } from './augment-level.js';

test('parses levels case-insensitively and names a bad value', () => {
  assert.equal(parseAugmentLevel('s4'), 's4');
  assert.equal(parseAugmentLevel('S2'), 's2');
  assert.equal(parseAugmentLevel('Augment-S1'), 's1');
  assert.equal(parseAugmentLevel('none'), 'none');
  assert.throws(() => parseAugmentLevel('s5'), /unknown augmentation level "s5"; expected one of none, s1/);
});
