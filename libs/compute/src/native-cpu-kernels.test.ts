import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { tf, initBackend, nativeCpuKernels, nativeThreads, registerWasmTrainingKernels, setNativeThreads, NATIVE_ADDON_PATH } from './index';
import { onBothBackends, randomValues, relError } from './test-support/compare';
import { threadCpuMs } from './test-support/thread-cpu';

const status = nativeCpuKernels();
// CI installs OpenBLAS and a compiler and sets this, so a build that silently lost the native kernels fails.
const expected = process.env.SELFTRAIN_EXPECT_NATIVE_KERNELS === '1';
// CI installs libdnnl-dev / libdnnl2 too and sets this, so a build or image that lost oneDNN fails.
const expectedDnnl = process.env.SELFTRAIN_EXPECT_DNNL === '1';
const skip = status.loaded ? false : `native kernels not loaded: ${status.loaded ? '' : status.reason}`;

before(async () => {
  delete process.env.SELFTRAIN_BACKEND;
  await initBackend();
});

test('the native kernels load where CI expects them, and the backend says which kernels it runs', async () => {
  const info = await initBackend();
  if (expected) assert.ok(status.loaded, `expected native kernels from ${NATIVE_ADDON_PATH}: ${status.loaded ? '' : status.reason}`);
  if (expectedDnnl) assert.ok(status.loaded && status.kernels.dnnlAvailable, `expected oneDNN: ${status.loaded ? status.kernels.dnnlUnavailableReason : ''}`);
  if (status.loaded && status.kernels.dnnlAvailable) {
    assert.match(info.kernels ?? '', /^native oneDNN \d+\.\d+\.\d+ \+ OpenBLAS \(.+\)$/);
    assert.equal(info.dnnlUnavailable, undefined);
  } else if (status.loaded) {
    assert.match(info.kernels ?? '', /^native OpenBLAS \(.+\)$/);
    assert.match(info.dnnlUnavailable ?? '', /libdnnl/, 'the reason names the Debian package');
  }
  if (status.loaded) {
    assert.notEqual(status.kernels.blasCore, 'Prescott', 'OpenBLAS fell back to its SSE3 kernels');
  } else {
    assert.equal(info.kernels, 'wasm');
    assert.equal(info.nativeUnavailable, status.reason);
  }
});

test('a whole training step (the default model) gives the same gradients on native and wasm kernels', { skip }, async () => {
  const x = tf.randomNormal([16, 28, 28, 1], 0, 1, 'float32', 1);
  const w1 = tf.randomNormal([3, 3, 1, 8], 0, 0.3, 'float32', 2);
  const w2 = tf.randomNormal([3, 3, 8, 16], 0, 0.3, 'float32', 3);
  const fc = tf.randomNormal([7 * 7 * 16, 10], 0, 0.1, 'float32', 4);
  const labels = tf.oneHot(tf.tensor1d([...Array(16).keys()].map((i) => i % 10), 'int32'), 10);
  const grads = (native: boolean) => {
    registerWasmTrainingKernels({ native });
    return tf.tidy(() => tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
      const h1 = tf.relu(tf.conv2d(x as tf.Tensor4D, a as tf.Tensor4D, 2, 'same'));
      const h2 = tf.relu(tf.conv2d(h1, b as tf.Tensor4D, 2, 'same'));
      const logits = tf.matMul(tf.reshape(h2, [16, -1]), c);
      return tf.losses.softmaxCrossEntropy(labels, logits);
    })([w1, w2, fc]).map((g) => g.dataSync() as Float32Array));
  };
  const native = grads(true);
  const wasm = grads(false);
  registerWasmTrainingKernels();
  native.forEach((g, i) => assert.ok(relError(g, wasm[i]) < 1e-5, `grad ${i}: ${relError(g, wasm[i])}`));
  assert.ok(native.every((g) => g.some((v) => v !== 0)), 'the gradients are not all zero');
  tf.dispose([x, w1, w2, fc, labels]);
});

test('convs the native kernels do not cover (dilation) still match cpu through the fallback', { skip }, async () => {
  registerWasmTrainingKernels({ native: true });
  const x = randomValues([2, 9, 9, 3], 1);
  const f = randomValues([3, 3, 3, 4], 2);
  const { wasm, cpu } = await onBothBackends([x, f], (xt, ft) => [
    tf.conv2d(xt as tf.Tensor4D, ft as tf.Tensor4D, 1, 'same', 'NHWC', 2),
  ]);
  assert.ok(relError(wasm[0], cpu[0]) < 1e-5, `rel err ${relError(wasm[0], cpu[0])}`);
});

test('the addon checks its buffers: a view shorter than the geometry needs is an error, not a write past it', { skip }, () => {
  if (!status.loaded) return;
  const k = status.kernels;
  const g = Int32Array.of(2, 5, 5, 3, 5, 5, 4, 3, 3, 1, 1, 1, 1);
  const x = new Float32Array(2 * 5 * 5 * 3);
  const w = new Float32Array(3 * 3 * 3 * 4);
  assert.throws(() => k.conv2d(x, w, new Float32Array(10), g), /output holds 10 floats, needs 200/);
  assert.throws(() => k.conv2d(x, w.subarray(1), new Float32Array(200), g), /second input holds 107 floats, needs 108/);
  assert.throws(() => k.conv2d(x, w, new Float32Array(200), Int32Array.of(1, 2, 3)), /geometry must be an Int32Array of 13/);
  assert.throws(() => k.gemm(x, w, new Float32Array(4), Int32Array.of(1, 2, 2, 0, 0, 0, 0, 0)), /dims out of range/);
});

test('built without oneDNN\'s headers, the addon loads with its OpenBLAS kernels and names the package to install', { skip }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'selftrain-native-'));
  try {
    const out = path.join(dir, 'kernels.node');
    const build = spawnSync(process.execPath, [path.join(__dirname, '..', 'native', 'build.mjs')], {
      env: { ...process.env, SELFTRAIN_DNNL_HEADERS: 'off', SELFTRAIN_NATIVE_OUT: out }, encoding: 'utf8',
    });
    assert.equal(build.status, 0, build.stderr);
    assert.match(build.stderr, /built without oneDNN .*libdnnl-dev/);
    const probe = spawnSync(process.execPath, ['-e', `const k = require(${JSON.stringify(out)});
      console.log(JSON.stringify({ available: k.available, dnnl: k.dnnlAvailable, reason: k.dnnlUnavailableReason }));`], { encoding: 'utf8' });
    assert.equal(probe.status, 0, probe.stderr);
    const loaded = JSON.parse(probe.stdout) as { available: boolean; dnnl: boolean; reason: string };
    assert.deepEqual(loaded, { available: true, dnnl: false, reason: loaded.reason });
    assert.match(loaded.reason, /apt-get install libdnnl-dev/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ReLU\'s gradient on the native kernel equals the cpu backend\'s exactly (0, negatives, NaN, inf)', { skip }, async () => {
  registerWasmTrainingKernels();
  const x = randomValues([3, 5, 7], 9);
  x.values[0] = 0;
  x.values[1] = Number.NaN;
  x.values[2] = Number.POSITIVE_INFINITY;
  x.values[3] = Number.NEGATIVE_INFINITY;
  const dy = randomValues([3, 5, 7], 10);
  dy.values[4] = Number.POSITIVE_INFINITY;
  const { wasm, cpu } = await onBothBackends([x, dy], (xt, dyt) => [tf.grad((a: tf.Tensor) => tf.relu(a))(xt, dyt)]);
  assert.deepEqual(Array.from(wasm[0]), Array.from(cpu[0]));
  assert.equal(tf.getKernel('SelftrainReluGrad', 'wasm') != null, true);
});

test('one native thread is one core: a oneDNN conv made for 2 threads runs on 1 once the setting drops', { skip: skip || (status.loaded && !status.kernels.dnnlAvailable ? 'no oneDNN' : threadCpuMs() == null ? 'no /proc' : false) }, () => {
  if (!status.loaded) return;
  const k = status.kernels;
  const g = Int32Array.of(32, 32, 32, 32, 32, 32, 32, 3, 3, 1, 1, 1, 1);
  const x = Float32Array.from({ length: 32 * 32 * 32 * 32 }, (_, i) => (i % 7) - 3);
  const w = Float32Array.from({ length: 9 * 32 * 32 }, (_, i) => (i % 5) - 2);
  const y = new Float32Array(x.length);
  // CPU time per thread while convs run for at least `ms` of the main thread's CPU.
  const busy = (ms: number) => {
    const a = threadCpuMs()!;
    let b = a;
    while (b.main - a.main < ms) {
      for (let i = 0; i < 10; i++) k.dnnlConv2d(x, w, y, g);
      b = threadCpuMs()!;
    }
    return { main: b.main - a.main, others: b.others - a.others };
  };
  try {
    assert.equal(nativeThreads(), 1, '1 at load');
    setNativeThreads(2);
    assert.equal(nativeThreads(), 2);
    const two = busy(300); // also makes this shape's primitive for 2 threads
    assert.ok(two.others > 0.3 * two.main, `2 threads: the OpenMP worker did ${two.others} ms, the caller ${two.main} ms`);
    setNativeThreads(1);
    const one = busy(300);
    // Node's own threads (GC, compiler) may take a little
    assert.ok(one.others < 0.1 * one.main, `1 thread: other threads did ${one.others} ms, the caller ${one.main} ms`);
  } finally {
    setNativeThreads(1);
  }
  assert.throws(() => setNativeThreads(0), /integer >= 1/);
});

test('Relu and same-shape Add on the native kernels equal the cpu backend\'s exactly, on 1 and 2 native threads; a broadcast Add falls back', { skip }, async (t) => {
  registerWasmTrainingKernels();
  t.after(() => setNativeThreads(1));
  for (const threads of [1, 2]) {
    setNativeThreads(threads);
    const shape = [3, 41, 37, 7]; // 31,857 floats: under 2 threads' threshold; the larger one is above it
    for (const s of [shape, [5, 33, 33, 7]]) {
      const a = randomValues(s, 21);
      a.values[0] = Number.NaN;
      a.values[1] = -0;
      a.values[2] = Number.NEGATIVE_INFINITY;
      const b = randomValues(s, 22);
      b.values[3] = Number.POSITIVE_INFINITY;
      const bias = randomValues([s[3]], 23);
      const { wasm, cpu } = await onBothBackends([a, b, bias], (at, bt, ct) => [tf.relu(at), tf.add(at, bt), tf.add(at, ct)]);
      wasm.forEach((w, i) => assert.deepEqual(Array.from(w), Array.from(cpu[i]), `${threads} thread(s), ${s.join('x')}, output ${i}`));
    }
  }
  assert.notEqual(tf.getKernel('Relu', 'wasm'), undefined);
});

test('Sub and Multiply (and Add) of one shape or with a single value run natively and equal the cpu backend\'s exactly, on 1 and 2 native threads; other broadcasts fall back', { skip }, async (t) => {
  const kernels = registerWasmTrainingKernels();
  t.after(() => setNativeThreads(1));
  assert.ok(['Add', 'Sub', 'Multiply'].every((k) => kernels.kernels.includes(k)), kernels.kernels.join());
  for (const threads of [1, 2]) {
    setNativeThreads(threads);
    for (const s of [[3, 41, 37, 7], [5, 33, 33, 7], [1]]) {
      const a = randomValues(s, 31);
      a.values[0] = Number.NaN;
      const b = randomValues(s, 32);
      if (b.values.length > 3) b.values[3] = Number.POSITIVE_INFINITY;
      const scalar = randomValues([], 33);
      const one = randomValues([1, 1], 34);
      const row = randomValues([s[s.length - 1]], 35);
      const { wasm, cpu } = await onBothBackends([a, b, scalar, one, row], (at, bt, st, ot, rt) => [
        tf.sub(at, bt), tf.mul(at, bt), tf.mul(st, at), tf.mul(at, st), tf.sub(st, at), tf.sub(at, st), tf.add(st, at),
        tf.mul(at, ot), tf.sub(at, rt), tf.mul(rt, at),
      ]);
      wasm.forEach((w, i) => assert.deepEqual(Array.from(w), Array.from(cpu[i]), `${threads} thread(s), ${s.join('x')}, output ${i}`));
    }
  }
});
