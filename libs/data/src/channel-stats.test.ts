import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelStats } from './channel-stats';

test('ChannelStats: per-channel mean and population std on the 0..1 scale, merged across partial sums', () => {
  // Two RGB images: R is 0 and 255 half and half, G constant 51, B 0..3 across four pixels.
  const a = Uint8Array.from([0, 51, 0, 255, 51, 1]);
  const b = Uint8Array.from([0, 51, 2, 255, 51, 3]);
  const whole = new ChannelStats(3);
  whole.add(a);
  whole.add(b);
  const m = whole.moments();
  assert.equal(m.pixels, 4);
  assert.deepEqual(m.mean.map((v) => v * 255), [127.5, 51, 1.5]);
  assert.equal(m.std[0], 0.5);
  assert.equal(m.std[1], 0);
  assert.ok(Math.abs(m.std[2] * 255 - Math.sqrt(1.25)) < 1e-12);
  const left = new ChannelStats(3);
  left.add(a);
  const right = new ChannelStats(3);
  right.add(b);
  left.merge(right);
  assert.deepEqual(left.moments(), m);
  assert.throws(() => left.add(Uint8Array.from([1, 2])), /not a whole number of 3-channel pixels/);
  assert.throws(() => left.merge(new ChannelStats(1)), /cannot merge 1-channel stats/);
});
