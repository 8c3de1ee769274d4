// One image ingest in a process of its own, so its peak RSS is the ingest's alone: the bench runs it at N
// and 10N files. Argument: the IngestImagesOptions as JSON; storage from the S3_* environment. Prints one
// JSON line: seconds, CPU seconds, peak RSS.
import { ingestImages, type IngestImagesOptions } from '@selftrain/data';
import { S3ObjectStore, storageConfigFromEnv } from '@selftrain/storage';

async function main(): Promise<void> {
  const opts = JSON.parse(process.argv[2]) as IngestImagesOptions;
  const { config } = storageConfigFromEnv();
  if (!config) throw new Error('set S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY');
  const store = await S3ObjectStore.connect({ ...config, createBucket: true });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  try {
    const r = await ingestImages(store, opts);
    const cpu = process.cpuUsage(cpu0);
    const records = r.manifest.splits.reduce((n, s) => n + s.records, 0);
    process.stdout.write(`${JSON.stringify({
      records, seconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6,
      // resourceUsage().maxRSS is in KiB: the process's peak, worker threads included.
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 102.4) / 10, prefix: r.prefix, reused: r.reused, memory: process.memoryUsage(),
    })}\n`);
  } finally {
    store.close();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
