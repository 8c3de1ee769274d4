import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';

/** The memory a process may use, and where that figure comes from. */
export interface ProcessMemoryLimit {
  bytes: number;
  source: string;
}

/**
 * Share of the process's memory limit its training jobs may use together by default: the rest is the
 * process itself (Node, the gRPC server, the bucket client, the native kernels' buffers, ~150-350 MiB
 * measured beside a training heap) and room for the estimate's error.
 */
export const TRAIN_MEMORY_SHARE = 0.8;

/**
 * What this process may use: its cgroup's memory limit (v2 memory.max, else v1 memory.limit_in_bytes;
 * a Kubernetes memory limit), else the machine's memory. `root` is for tests.
 */
export function processMemoryLimit(root = '/sys/fs/cgroup'): ProcessMemoryLimit {
  const total = totalmem();
  const read = (file: string) => {
    try { return readFileSync(`${root}/${file}`, 'utf8').trim(); } catch { return undefined; }
  };
  for (const file of ['memory.max', 'memory/memory.limit_in_bytes', 'memory.limit_in_bytes']) {
    const value = Number(read(file));
    // v1 writes "no limit" as a huge number (about 2^63), v2 as "max" (NaN here).
    if (Number.isFinite(value) && value > 0 && value < total) return { bytes: value, source: `cgroup ${file}` };
  }
  return { bytes: total, source: 'the machine\'s memory' };
}

/** The training budget: TRAIN_MEMORY_BUDGET_MB when set, else TRAIN_MEMORY_SHARE of the process's limit. */
export function trainMemoryBudget(budgetMiB: number | undefined, limit: ProcessMemoryLimit = processMemoryLimit()): { bytes: number; source: string } {
  if (budgetMiB !== undefined) return { bytes: budgetMiB * 2 ** 20, source: 'TRAIN_MEMORY_BUDGET_MB' };
  const gib = (limit.bytes / 2 ** 30).toFixed(1);
  return { bytes: Math.floor(TRAIN_MEMORY_SHARE * limit.bytes), source: `${TRAIN_MEMORY_SHARE * 100} % of ${gib} GiB, ${limit.source}; TRAIN_MEMORY_BUDGET_MB sets it` };
}
