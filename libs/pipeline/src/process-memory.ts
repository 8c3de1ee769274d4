import { readFileSync } from 'node:fs';

/** Peak resident set size (VmHWM) of a process in MiB, from /proc; undefined where /proc is absent. */
export function peakRssMiB(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : undefined;
  } catch {
    return undefined;
  }
}
