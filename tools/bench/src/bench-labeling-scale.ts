import { silentLogger } from '@selftrain/logger';
import { LabelShardRequest, type LabelShardResponse, type Shard } from '@selftrain/proto';
import { call } from '@selftrain/rpc';
import { runOnReplicas, validateSpec, type ServiceClients } from '@selftrain/pipeline';
import { cpuSeconds } from './process-memory';

/** As the driver runs them: the spec's default labeling.concurrency shards in flight per replica. */
const DEFAULT_CONCURRENCY = validateSpec({}).labeling.concurrency;

/**
 * Labeling img/s with 1 and then N labeler processes on the same shards (fresh output keys each time,
 * so nothing is reused), spread by the driver's own scheduler: the scale-out figure.
 */
export async function benchLabelingScale(
  clients: ServiceClients, checkpoint: string, dataset: string, shards: Shard[], run: number, labelerPids: number[],
): Promise<{ imgPerS: Record<string, number>; cpuCoresBusy: Record<string, Record<string, number>> }> {
  const images = shards.reduce((n, s) => n + s.records, 0);
  // Where the two cores go: each labeler, and this process (the driver and the embedded S3 server).
  const busy: Record<string, Record<string, number>> = {};
  const label = async (count: number, prefix: string, record = true) => {
    const replicas = clients.labelers.slice(0, count).map((client, i) => ({ address: `labeler-${i}`, client }));
    const cpu0 = labelerPids.map((pid) => cpuSeconds(pid) ?? 0);
    const self0 = process.cpuUsage();
    const t0 = performance.now();
    await runOnReplicas(replicas, shards, (r, s) => call<LabelShardRequest, LabelShardResponse>(r.client, r.client.labelShard as never, 'LabelShard', LabelShardRequest.fromPartial({
      checkpoint, dataset, shard: s.key, outputPrefix: prefix, options: { threshold: 0 },
    }), { deadlineMs: 600_000 }), { perReplica: DEFAULT_CONCURRENCY, maxAttempts: 1, logger: silentLogger });
    const seconds = (performance.now() - t0) / 1000;
    const self = process.cpuUsage(self0);
    if (record) busy[`${count} labeler${count > 1 ? 's' : ''}`] = {
      ...Object.fromEntries(labelerPids.slice(0, count).map((pid, i) => [`labeler-${i}`, +(((cpuSeconds(pid) ?? 0) - cpu0[i]) / seconds).toFixed(2)])),
      'driver + embedded S3': +((self.user + self.system) / 1e6 / seconds).toFixed(2),
    };
    return images / seconds;
  };
  // Every replica loads the checkpoint once before anything is timed.
  await label(clients.labelers.length, `bench/scale-warm-${run}`, false).catch(() => undefined);
  const out: Record<string, number> = {};
  for (const n of [1, clients.labelers.length]) out[`${n} labeler${n > 1 ? 's' : ''}`] = Math.round(await label(n, `bench/scale-${n}-${run}`));
  return { imgPerS: out, cpuCoresBusy: busy };
}
