import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { silentLogger } from '@selftrain/logger';
import { SERVICE_NAMES, serviceEnvironment, startServiceProcess, type ServiceName } from '@selftrain/pipeline';
import type { StorageConfig } from '@selftrain/storage';

/** One service running as users run it: its own process, configured by the environment. */
export interface ServiceProcess {
  name: ServiceName;
  address: string;
  pid: number;
  child: ChildProcess;
  logFile: string;
  /** Set when the process exited while the test still needed it. */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Resolves when the process exits, with its exit code or the signal that ended it. */
  whenExited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Current and peak resident set size in MiB, from /proc. */
  memory(): { rssMiB: number; peakMiB: number };
  /** SIGTERM, then the exit code (SIGKILL after 20 s). */
  stop(): Promise<number | null>;
}

function procStatusMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Math.round(Number(m[1]) / 102.4) / 10;
}

async function startOne(name: ServiceName, env: Record<string, string>, runDir: string, index = 0): Promise<ServiceProcess> {
  const { address, child, log } = await startServiceProcess(name, env, runDir, silentLogger, index);
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const whenExited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => {
    exit = { code, signal };
    resolve(exit);
  }));
  const exited = whenExited.then((e) => e.code);
  const pid = child.pid ?? 0;
  return {
    name, address, pid, child,
    logFile: log,
    exited: () => exit,
    whenExited,
    memory: () => ({ rssMiB: procStatusMiB(pid, 'VmRSS'), peakMiB: procStatusMiB(pid, 'VmHWM') }),
    stop: async () => {
      if (exit) return exit.code;
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.kill('SIGTERM');
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** One service alone, with its own environment; `index` tells apart several of one kind in one run directory. */
export function startService(name: ServiceName, storage: StorageConfig, runDir: string, extraEnv: Record<string, string>, index = 0): Promise<ServiceProcess> {
  return startOne(name, serviceEnvironment(storage, extraEnv), runDir, index);
}

/** The four services, started together against one bucket with the environment the manifests give them. */
export async function startServices(storage: StorageConfig, runDir: string, extraEnv: Record<string, string>): Promise<Record<ServiceName, ServiceProcess>> {
  const env = serviceEnvironment(storage, extraEnv);
  const started = await Promise.allSettled(SERVICE_NAMES.map((name) => startOne(name, env, runDir)));
  const ok = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.all(ok.map((s) => s.stop()));
    throw (failed as PromiseRejectedResult).reason;
  }
  return Object.fromEntries(ok.map((s) => [s.name, s])) as Record<ServiceName, ServiceProcess>;
}
