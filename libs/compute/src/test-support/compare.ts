import { tf, nativeCpuKernels } from '../index';

/** max |a - b| / max |b|: relative error of wasm (a) against the cpu reference (b). */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / (scale || 1);
}

/**
 * Runs `f` on wasm and on cpu with the same input values; returns both flat outputs per result.
 * Inputs are plain arrays so each backend makes its own tensors.
 */
export async function onBothBackends(
  inputs: { values: Float32Array; shape: number[] }[],
  f: (...xs: tf.Tensor[]) => tf.Tensor[],
): Promise<{ wasm: Float32Array[]; cpu: Float32Array[] }> {
  const out: Record<string, Float32Array[]> = {};
  for (const backend of ['wasm', 'cpu']) {
    await tf.setBackend(backend);
    out[backend] = tf.tidy(() => f(...inputs.map((i) => tf.tensor(i.values, i.shape))).map((t) => t.dataSync() as Float32Array));
  }
  await tf.setBackend('wasm');
  return { wasm: out.wasm, cpu: out.cpu };
}

/** Deterministic pseudo-random values in [-1, 1). */
export function randomValues(shape: number[], seed: number): { values: Float32Array; shape: number[] } {
  const n = shape.reduce((p, q) => p * q, 1);
  const values = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    values[i] = (s / 0x100000000) * 2 - 1;
  }
  return { values, shape };
}

export interface KernelMode {
  name: 'oneDNN' | 'oneDNN, 2 native threads' | 'native OpenBLAS' | 'wasm';
  /** for registerWasmTrainingKernels */
  options: { native: boolean; dnnl?: boolean };
  /** for setNativeThreads (1 where absent) */
  threads?: number;
}

/**
 * The kernel sets a test should cover: oneDNN's where it loads here (on 1 native thread, and on 2: its
 * primitives split the work then), the OpenBLAS ones where they do, and always the wasm ones. A test sets
 * `threads` with setNativeThreads and puts 1 back.
 */
export function kernelModes(): KernelMode[] {
  const modes: KernelMode[] = [{ name: 'wasm', options: { native: false } }];
  const status = nativeCpuKernels();
  if (status.loaded) modes.unshift({ name: 'native OpenBLAS', options: { native: true, dnnl: false } });
  if (status.loaded && status.kernels.dnnlAvailable) {
    modes.unshift({ name: 'oneDNN, 2 native threads', options: { native: true }, threads: 2 });
    modes.unshift({ name: 'oneDNN', options: { native: true } });
  }
  return modes;
}
