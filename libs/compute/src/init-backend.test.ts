import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

// Each case runs in its own process: the backend choice is once per process by design.
function runChild(env: Record<string, string | undefined>, purpose = 'infer'): { status: number | null; out: string; err: string } {
  const entry = path.join(__dirname, 'index.js');
  const script = `
    const { initBackend } = require(${JSON.stringify(entry)});
    const warns = [];
    const logger = { debug() {}, info() {}, error() {}, warn(o, m) { warns.push(m); }, child() { return logger; } };
    initBackend({ logger, purpose: ${JSON.stringify(purpose)} })
      .then(async (info) => {
        const again = await initBackend();
        process.stdout.write(JSON.stringify({ info, same: again === info, warns }));
      })
      .catch((e) => { process.stdout.write(JSON.stringify({ error: e.message })); });
  `;
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  const r = spawnSync(process.execPath, ['-e', script], { env: childEnv as NodeJS.ProcessEnv, encoding: 'utf8', timeout: 30000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

test('with nothing forced it picks wasm and reports the node backends it skipped', () => {
  const r = runChild({ SELFTRAIN_BACKEND: undefined });
  const { info, same } = JSON.parse(r.out);
  assert.equal(info.name, 'wasm');
  assert.equal(info.package, '@tensorflow/tfjs-backend-wasm');
  assert.equal(info.gpu, false);
  assert.deepEqual(info.tried.map((t: { package: string }) => t.package),
    ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-backend-wasm']);
  assert.match(info.tried[0].error, /tfjs-node-gpu/);
  assert.match(info.tried[1].error, /tfjs-node/);
  assert.equal(info.tried[2].error, undefined);
  assert.equal(same, true, 'a second call returns the same info');
});

test('SELFTRAIN_BACKEND=cpu forces the pure-JS backend and warns loudly when training', () => {
  const r = runChild({ SELFTRAIN_BACKEND: 'cpu' }, 'train');
  const { info, warns } = JSON.parse(r.out);
  assert.equal(info.name, 'cpu');
  assert.equal(info.package, '@tensorflow/tfjs');
  assert.equal(warns.length, 1);
  assert.match(warns[0], /PURE-JS CPU/);
});

test('SELFTRAIN_BACKEND=wasm forces wasm', () => {
  const { info } = JSON.parse(runChild({ SELFTRAIN_BACKEND: 'wasm' }).out);
  assert.equal(info.name, 'wasm');
  assert.deepEqual(info.tried.map((t: { package: string }) => t.package), ['@tensorflow/tfjs-backend-wasm']);
});

test('a forced backend that does not load throws an error naming it', () => {
  const { error } = JSON.parse(runChild({ SELFTRAIN_BACKEND: 'tfjs-node' }).out);
  assert.match(error, /SELFTRAIN_BACKEND=tfjs-node/);
  assert.match(error, /@tensorflow\/tfjs-node failed to load/);
});

test('an unknown SELFTRAIN_BACKEND value is rejected', () => {
  const { error } = JSON.parse(runChild({ SELFTRAIN_BACKEND: 'gpu' }).out);
  assert.match(error, /SELFTRAIN_BACKEND=gpu is not one of/);
});
