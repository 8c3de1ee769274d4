import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * The cores this process may keep busy: the CPUs it can run on, capped by its cgroup's CPU quota (a
 * Kubernetes CPU limit), which Node's availableParallelism does not see. A pod limited to 2 CPUs on a
 * 32-core node gets 2, not 32. `root` is for tests.
 */
export function cpuBudget(root = '/sys/fs/cgroup'): number {
  const cores = availableParallelism();
  const quota = cgroupQuota(root);
  return quota === undefined ? cores : Math.max(1, Math.min(cores, Math.ceil(quota)));
}

/** CPUs allowed by the cgroup's quota (v2 cpu.max, else v1 cfs quota/period); undefined when unlimited or unreadable. */
function cgroupQuota(root: string): number | undefined {
  const read = (file: string) => {
    try { return readFileSync(`${root}/${file}`, 'utf8').trim(); } catch { return undefined; }
  };
  const v2 = read('cpu.max')?.split(/\s+/);
  if (v2) return v2[0] === 'max' ? undefined : ratio(v2[0], v2[1]);
  return ratio(read('cpu/cpu.cfs_quota_us') ?? read('cpu.cfs_quota_us'), read('cpu/cpu.cfs_period_us') ?? read('cpu.cfs_period_us'));
}

function ratio(quota: string | undefined, period: string | undefined): number | undefined {
  const [q, p] = [Number(quota), Number(period)];
  return Number.isFinite(q) && q > 0 && Number.isFinite(p) && p > 0 ? q / p : undefined;
}
