/**
 * Memory of a long ResNet training loop (issue 17: workspaces and reorders reused, no growth): ResNet-10
 * w32, 32x32x3, batch 128, SGD + momentum, random data, 1,000 steps on the native kernels; RSS every 50
 * steps. After a warm-up (the wasm heap and oneDNN's per-shape primitives and buffers filling) RSS must
 * stay within +-5 % of its value at the warm-up's end. Not part of `npm run bench` (~15 min on 2 loaded
 * cores): `node tools/bench/dist/bench-resnet-memory.js` (BENCH_MEMORY_STEPS, BENCH_MEMORY_THREADS to change).
 * Prints one line per sample to stderr and a JSON summary to stdout; exits 1 if RSS moved more than 5 %.
 */
import { readFileSync } from 'node:fs';
import { initBackend, registerWasmTrainingKernels, setNativeThreads, tf } from '@selftrain/compute';
import { buildResnet10 } from './bench-resnet';

const EVERY = 50;
/** Steps before RSS is taken as the reference: the heap and the per-shape caches fill in the first ~100. */
const WARM_UP = 100;
const LIMIT = 0.05;

/** Current resident set size (VmRSS) of this process in MiB. */
function rssMiB(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : process.memoryUsage().rss / 2 ** 20;
}

/**
 * Resident MiB by kind of mapping (/proc/self/smaps): the wasm memory (the mapping of exactly its size:
 * V8 maps the linear memory's committed part on its own; resident only where touched), the native heap
 * (glibc's [heap] and the anonymous mappings of its threads' arenas, oneDNN's and OpenBLAS's buffers; V8's
 * heap too), and the rest (code, stacks).
 */
function residentByKind(wasmBytes: number): { wasm: number; nativeHeap: number; other: number } {
  const out = { wasm: 0, nativeHeap: 0, other: 0 };
  let kind: keyof typeof out = 'other';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const [start, end] = line.split(' ')[0].split('-').map((h) => parseInt(h, 16));
      const name = head[1];
      kind = end - start === wasmBytes ? 'wasm' : name === '[heap]' || name === '' ? 'nativeHeap' : 'other';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) out[kind] += Number(rss[1]) / 1024;
  }
  return { wasm: +out.wasm.toFixed(1), nativeHeap: +out.nativeHeap.toFixed(1), other: +out.other.toFixed(1) };
}

/** The wasm backend's linear memory (the tensors' heap; it grows and never shrinks): where RSS growth can come from besides V8 and the native heap. */
function wasmHeapBytes(): number {
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return backend.wasm?.HEAPU8?.buffer.byteLength ?? 0;
}

export async function benchResnetMemory(steps: number, threads: number) {
  const info = await initBackend({ prefer: 'wasm' });
  if (info.name !== 'wasm') throw new Error(`bench needs wasm, got ${info.name}`);
  const kernels = registerWasmTrainingKernels();
  setNativeThreads(threads);
  const model = buildResnet10(32);
  const optimizer = tf.train.momentum(0.01, 0.9);
  const x = tf.randomUniform([128, 32, 32, 3]);
  const y = tf.oneHot(tf.randomUniform([128], 0, 10, 'int32') as tf.Tensor1D, 10);
  const samples: {
    step: number; rssMiB: number; wasmHeapMiB: number; resident: ReturnType<typeof residentByKind>; v8HeapMiB: number; tensors: number; seconds: number;
  }[] = [];
  const mib = (bytes: number) => +(bytes / 2 ** 20).toFixed(1);
  const every = Math.min(EVERY, steps);
  const t0 = performance.now();
  for (let step = 1; step <= steps; step++) {
    tf.tidy(() => {
      optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor).mean() as tf.Scalar, true)!.dataSync();
    });
    if (step % every === 0 || step === 1) {
      const mem = process.memoryUsage();
      const s = {
        step, rssMiB: +rssMiB().toFixed(1), wasmHeapMiB: mib(wasmHeapBytes()), resident: residentByKind(wasmHeapBytes()), v8HeapMiB: mib(mem.heapTotal),
        tensors: tf.memory().numTensors, seconds: +((performance.now() - t0) / 1000).toFixed(1),
      };
      samples.push(s);
      const r = s.resident;
      process.stderr.write(`  step ${s.step}: RSS ${s.rssMiB} MiB (resident: wasm memory ${r.wasm} of its ${s.wasmHeapMiB}, native heap ${r.nativeHeap}, other ${r.other}; V8 heap ${s.v8HeapMiB}), ${s.tensors} tensors, ${s.seconds} s\n`);
    }
  }
  tf.dispose([x, y]);
  optimizer.dispose();
  model.dispose();
  const after = samples.filter((s) => s.step >= WARM_UP);
  const reference = after[0]?.rssMiB ?? NaN;
  const max = Math.max(...after.map((s) => s.rssMiB));
  const min = Math.min(...after.map((s) => s.rssMiB));
  const drift = Math.max(max / reference - 1, 1 - min / reference);
  return {
    model: 'ResNet-10 w32, 32x32x3, batch 128', kernels: kernels.description, threads, steps, warmUpSteps: WARM_UP,
    referenceRssMiB: reference, minRssMiB: min, maxRssMiB: max, driftPercent: +(100 * drift).toFixed(2),
    withinLimit: drift <= LIMIT, tensorsFirst: after[0]?.tensors, tensorsLast: after[after.length - 1]?.tensors, samples,
  };
}

if (require.main === module) {
  const steps = Number(process.env.BENCH_MEMORY_STEPS ?? 1000);
  const threads = Number(process.env.BENCH_MEMORY_THREADS ?? 1);
  benchResnetMemory(steps, threads).then((r) => {
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    if (!r.withinLimit) process.exit(1);
  }, (err) => { console.error(err); process.exit(1); });
}
