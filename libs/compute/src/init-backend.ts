import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Logger } from '@selftrain/logger';
import { registerWasmTrainingKernels } from './register-wasm-training-kernels';

export type BackendChoice = 'auto' | 'tfjs-node-gpu' | 'tfjs-node' | 'wasm' | 'cpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'];

export interface BackendInfo {
  /** tfjs backend name: 'tensorflow' | 'wasm' | 'cpu' */
  name: string;
  /** the package that provides it */
  package: string;
  gpu: boolean;
  /**
   * The kernels under the backend where the project supplies them: on wasm 'native OpenBLAS (<core>)'
   * or 'wasm' (with why the native ones did not load in `nativeUnavailable`).
   */
  kernels?: string;
  nativeUnavailable?: string;
  /** on wasm with native kernels whose convs are not on oneDNN: why (names the Debian package) */
  dnnlUnavailable?: string;
  /** every package tried, in order, with the reason it was skipped */
  tried: { package: string; error?: string }[];
}

export interface InitBackendOptions {
  /** Tried first; on failure the auto order continues. 'cpu' here counts as an explicit choice. */
  prefer?: BackendChoice;
  logger?: Logger;
  /** 'train' makes a pure-JS cpu choice log a loud warning (training there is ~0.6 img/s). */
  purpose?: 'train' | 'infer';
}

interface Candidate {
  choice: Exclude<BackendChoice, 'auto'>;
  package: string;
  backendName: string;
  gpu: boolean;
  /** Starts the backend; may say which kernels it runs. */
  load(): Promise<Pick<BackendInfo, 'kernels' | 'nativeUnavailable' | 'dnnlUnavailable'> | void>;
}

// A variable module name keeps tsc (and bundlers) from resolving packages that are absent here.
function requireOptional(name: string): unknown {
  return require(name);
}

async function activate(backendName: string): Promise<void> {
  const ok = await tf.setBackend(backendName);
  if (!ok || tf.getBackend() !== backendName) {
    throw new Error(`tf.setBackend('${backendName}') failed`);
  }
  await tf.ready();
}

function nodeCandidate(choice: 'tfjs-node-gpu' | 'tfjs-node', gpu: boolean): Candidate {
  const pkg = `@tensorflow/${choice}`;
  return {
    choice,
    package: pkg,
    backendName: 'tensorflow',
    gpu,
    async load() {
      // tfjs-node registers the 'tensorflow' backend into the engine kept on globalThis (tfjs-core keeps its
      // engine and kernel registry there), so `tf` from this lib drives it even if npm gave tfjs-node its
      // own nested copy of tfjs-core.
      requireOptional(pkg);
      await activate('tensorflow');
    },
  };
}

const wasmCandidate: Candidate = {
  choice: 'wasm',
  package: '@tensorflow/tfjs-backend-wasm',
  backendName: 'wasm',
  gpu: false,
  async load() {
    const wasm = requireOptional('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    // Load the .wasm binaries from the installed package on disk (Node has no URL to fetch them from).
    const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm'));
    wasm.setWasmPaths(dir + path.sep);
    if (!(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))) {
      // Node >= 16 has wasm SIMD; force the SIMD build, which is 2-3x faster than the plain one.
      tf.env().set('WASM_HAS_SIMD_SUPPORT', true);
    }
    await activate('wasm');
    // After activation, so that the stock kernels' setup (run at backend start) has happened and they
    // stay restorable by unregisterWasmTrainingKernels().
    const kernels = registerWasmTrainingKernels();
    return { kernels: kernels.description, nativeUnavailable: kernels.nativeUnavailable, dnnlUnavailable: kernels.dnnlUnavailable };
  },
};

const cpuCandidate: Candidate = {
  choice: 'cpu',
  package: '@tensorflow/tfjs',
  backendName: 'cpu',
  gpu: false,
  async load() {
    await activate('cpu');
  },
};

const CANDIDATES: Record<Exclude<BackendChoice, 'auto'>, Candidate> = {
  'tfjs-node-gpu': nodeCandidate('tfjs-node-gpu', true),
  'tfjs-node': nodeCandidate('tfjs-node', false),
  wasm: wasmCandidate,
  cpu: cpuCandidate,
};

// The automatic order never contains cpu: pure-JS training is ~300x slower, so it must be asked for.
const AUTO_ORDER: Exclude<BackendChoice, 'auto' | 'cpu'>[] = ['tfjs-node-gpu', 'tfjs-node', 'wasm'];

function parseChoice(value: string, source: string): BackendChoice {
  const v = value.trim().toLowerCase();
  if ((BACKEND_CHOICES as readonly string[]).includes(v)) return v as BackendChoice;
  throw new Error(`${source}=${value} is not one of ${BACKEND_CHOICES.join(' | ')}`);
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0];
  if (err != null && typeof err === 'object' && 'message' in err) return String((err as { message: unknown }).message);
  return String(err);
}

let current: Promise<BackendInfo> | undefined;

/**
 * Picks and starts the compute backend once per process: SELFTRAIN_BACKEND forces one (and throws if it
 * does not load); otherwise tfjs-node-gpu, tfjs-node, wasm in that order, first that loads wins.
 * Later calls return the same info.
 */
export function initBackend(opts: InitBackendOptions = {}): Promise<BackendInfo> {
  if (current == null) {
    current = choose(opts);
    // A failed start may be retried (e.g. after fixing the environment in a test).
    current.catch(() => { current = undefined; });
    return current;
  }
  if (opts.purpose === 'train') {
    // The backend was chosen earlier (maybe for inference): still never train on cpu without a warning.
    return current.then((info) => {
      if (info.name === 'cpu') warnCpuTraining(opts.logger, info);
      return info;
    });
  }
  return current;
}

function warnCpuTraining(logger: Logger | undefined, info: BackendInfo): void {
  logger?.child({ component: 'compute' }).warn(
    { backend: info },
    'TRAINING ON THE PURE-JS CPU BACKEND: about 0.7 img/s, ~300x slower than wasm. ' +
      'Unset SELFTRAIN_BACKEND=cpu unless this is intended.',
  );
}

async function choose(opts: InitBackendOptions): Promise<BackendInfo> {
  const log = opts.logger?.child({ component: 'compute' });
  const envValue = process.env.SELFTRAIN_BACKEND;
  const forced = envValue != null && envValue !== '' ? parseChoice(envValue, 'SELFTRAIN_BACKEND') : 'auto';
  const prefer = opts.prefer != null ? parseChoice(opts.prefer, 'prefer') : 'auto';
  const tried: BackendInfo['tried'] = [];

  const attempt = async (c: Candidate): Promise<BackendInfo | undefined> => {
    try {
      const kernels = await c.load();
      tried.push({ package: c.package });
      return { name: c.backendName, package: c.package, gpu: c.gpu, ...(kernels ?? {}), tried };
    } catch (err) {
      tried.push({ package: c.package, error: errorText(err) });
      log?.debug({ package: c.package, error: errorText(err) }, 'compute backend did not load');
      return undefined;
    }
  };

  let info: BackendInfo | undefined;
  if (forced !== 'auto') {
    info = await attempt(CANDIDATES[forced]);
    if (info == null) {
      throw new Error(
        `SELFTRAIN_BACKEND=${forced} was forced but ${CANDIDATES[forced].package} failed to load: ` +
          `${tried[tried.length - 1]?.error ?? 'unknown error'}`,
      );
    }
  } else {
    const order: Exclude<BackendChoice, 'auto'>[] =
      prefer === 'auto' ? [...AUTO_ORDER] : [prefer, ...AUTO_ORDER.filter((c) => c !== prefer)];
    for (const choice of order) {
      info = await attempt(CANDIDATES[choice]);
      if (info != null) break;
    }
    if (info == null) {
      throw new Error(
        'no compute backend loaded (cpu is never chosen automatically; set SELFTRAIN_BACKEND=cpu to allow it): ' +
          tried.map((t) => `${t.package}: ${t.error}`).join('; '),
      );
    }
  }

  if (info.name === 'cpu' && opts.purpose === 'train') warnCpuTraining(opts.logger, info);
  log?.info({ backend: info.name, package: info.package, gpu: info.gpu, kernels: info.kernels,
    nativeUnavailable: info.nativeUnavailable, dnnlUnavailable: info.dnnlUnavailable, tried }, 'compute backend ready');
  return info;
}
