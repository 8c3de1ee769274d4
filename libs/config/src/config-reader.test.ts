import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputErrors } from '@selftrain/errors';
import { ConfigReader } from './config-reader';

test('reads typed values with defaults', () => {
  const r = new ConfigReader({ PORT: '50051', DEBUG: 'yes', MODE: 'b' });
  const cfg = r.done({
    port: r.int('PORT', 0, { min: 0, max: 65535 }),
    debug: r.bool('DEBUG', false),
    mode: r.oneOf('MODE', ['a', 'b'] as const, 'a'),
    name: r.string('NAME', 'x'),
  });
  assert.deepEqual(cfg, { port: 50051, debug: true, mode: 'b', name: 'x' });
});

test('reports every problem at once, each naming its variable', () => {
  const r = new ConfigReader({ PORT: 'abc', MAX: '-3', DEBUG: 'maybe', MODE: 'z' });
  r.int('PORT', 0);
  r.int('MAX', 1, { min: 1 });
  r.bool('DEBUG', false);
  r.oneOf('MODE', ['a', 'b'] as const, 'a');
  r.string('REQUIRED');
  assert.throws(() => r.done({}), (err: unknown) => {
    assert.ok(err instanceof InputErrors);
    assert.deepEqual(err.problems.map((p) => p.field), ['PORT', 'MAX', 'DEBUG', 'MODE', 'REQUIRED']);
    return true;
  });
});
