import { tf } from '@selftrain/compute';
import { UnavailableError } from '@selftrain/errors';
import type { Logger } from '@selftrain/logger';

/** The trap class of wasm (this project's TypeScript libs have no WebAssembly typings). */
const WasmRuntimeError = (globalThis as unknown as { WebAssembly: { RuntimeError: abstract new (...args: never[]) => Error } }).WebAssembly.RuntimeError;

/**
 * A fault of the compute backend itself, not of the work it was given: a trap of the wasm module (an
 * out-of-bounds access, `unreachable`, an abort: all WebAssembly.RuntimeError). A trap unwinds out of the
 * module mid-kernel, with its allocator and tensor table possibly half-updated, so nothing it computes
 * afterwards can be trusted (the teacher failed every later job the same way).
 */
export function isComputeBackendFault(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e && depth < 5; depth++) {
    if (e instanceof WasmRuntimeError) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** What the guard needs of a running service; attached once the server is up. */
export interface FaultTarget {
  /** Health reports NOT_SERVING from the moment of the fault. */
  setNotServing(): void;
  /** Running jobs are recorded so the next Start elsewhere resumes them (JobRegistry.abandon). */
  abandonJobs?(): Promise<void>;
  /** Stops the server: calls in flight get a moment to finish. */
  stopServer(): Promise<void>;
}

/**
 * The process's answer to a broken compute backend: health NOT_SERVING, one error log line, the jobs it
 * ran recorded (the failing one FAILED and resumable, the others released), the server stopped, and an
 * exit with its own code, so Kubernetes restarts the pod with a fresh backend. A call that hit the fault
 * is answered UNAVAILABLE (a client retries elsewhere), never INTERNAL. Trips once.
 */
export class ComputeFaultGuard {
  private target: FaultTarget | undefined;
  private tripped = false;

  constructor(
    private readonly logger: Logger,
    private readonly exitCode: number,
    private readonly exit: (code: number) => void = (code) => process.exit(code),
  ) {}

  attach(target: FaultTarget): void {
    this.target = target;
  }

  /** The error a call is answered with: UNAVAILABLE for a backend fault (and the process goes down). */
  translate(err: unknown): unknown {
    if (!isComputeBackendFault(err)) return err;
    this.trip(err, {});
    return new UnavailableError(`this replica's compute backend failed (${(err as Error).message}); it is restarting: retry the call`);
  }

  trip(err: unknown, context: { jobId?: string }): void {
    if (this.tripped) return;
    this.tripped = true;
    const target = this.target;
    target?.setNotServing();
    this.logger.error({ err, ...context, exitCode: this.exitCode }, 'the compute backend failed: nothing it computes can be trusted now; exiting so the process is restarted');
    void (async () => {
      await target?.abandonJobs?.().catch((e: unknown) => this.logger.error({ err: e }, 'could not record the running jobs'));
      await target?.stopServer().catch(() => undefined);
      this.exit(this.exitCode);
    })();
  }
}

interface WasmModule {
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _Abs(xId: number, dtype: number, outId: number): void;
  tfjs: { registerTensor(id: number, size: number, memoryOffset: number): void };
}

/**
 * Test-only (SELFTRAIN_TEST_COMPUTE_FAULT_AT_STEP): a real out-of-bounds access in the wasm module the
 * backend computes with. A tensor is registered at an offset past the end of the module's memory and
 * the module's own Abs kernel reads it: the module traps with the RuntimeError ("memory access out of
 * bounds") a heap overrun ends in. Nothing is simulated above the module.
 */
export function wasmOutOfBoundsAccess(): never {
  const wasm = (tf.backend() as unknown as { wasm?: WasmModule }).wasm;
  if (tf.getBackend() !== 'wasm' || !wasm) throw new Error(`the test compute fault needs the wasm backend (this process runs ${tf.getBackend()})`);
  const heapBytes = wasm.HEAPU8.buffer.byteLength;
  // Ids far above the backend's own (they count up from 1), so no live tensor is touched.
  const [x, out] = [2 ** 30 + 1, 2 ** 30 + 2];
  wasm.tfjs.registerTensor(x, 4, heapBytes + 2 ** 20);
  wasm.tfjs.registerTensor(out, 4, wasm._malloc(16));
  wasm._Abs(x, 0 /* float32 */, out);
  throw new Error('the out-of-bounds read did not trap');
}
