import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatConfusion } from './format-confusion.js';

test('fixed-width table with names, counts and per-class accuracy', () => {
  const text = formatConfusion(
    [
      [812, 3, 0],
      [10, 90, 0],
      [0, 0, 0],
    ],
    ['T-shirt/top', 'Trouser', 'Ankle boot that is long'],
  );
  assert.equal(
    text,
    [
      'true\\pred      T-shirt/top       Trouser  Ankle boot t    acc',
      'T-shirt/top            812             3             0  99.6%',
      'Trouser                 10            90             0  90.0%',
      'Ankle boot t             0             0             0      -',
    ].join('\n'),
  );
  assert.equal(formatConfusion([[1, 0], [0, 1]]), ['true\\pred  0  1     acc', '0          1  0  100.0%', '1          0  1  100.0%'].join('\n'));
  assert.throws(() => formatConfusion([[1]], ['a', 'b']), /classNames has 2 names/);
});
