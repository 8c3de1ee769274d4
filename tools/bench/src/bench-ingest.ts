// Measures a full Fashion-MNIST ingest into memory and shard decode speed:
// `node tools/bench/dist/bench-ingest.js` (one core, no bucket).
import { ingestFashionMnist, readShard } from '@selftrain/data';
import { MemoryObjectStore } from '@selftrain/storage';

async function main(): Promise<void> {
  const store = new MemoryObjectStore();
  const t0 = performance.now();
  const { manifest } = await ingestFashionMnist(store);
  const s = (performance.now() - t0) / 1000;
  const shards = manifest.splits.flatMap((sp) => sp.shards);
  const records = manifest.splits.reduce((n, sp) => n + sp.records, 0);
  const mb = shards.reduce((n, sh) => n + sh.sizeBytes, 0) / 1e6;
  console.log(
    `ingest: ${records} records, ${shards.length} shards, ${mb.toFixed(1)} MB in ${s.toFixed(2)} s ` +
      `(${(shards.length / s).toFixed(1)} shards/s, ${(records / s).toFixed(0)} records/s, ${(mb / s).toFixed(1)} MB/s)`,
  );
  for (const sp of manifest.splits) console.log(`  ${sp.name}: ${sp.records} records in ${sp.shards.length} shards`);

  const bufs = await Promise.all(manifest.splits.find((sp) => sp.name === 'unlabeled')!.shards.slice(0, 10).map((sh) => store.get(sh.key)));
  const t1 = performance.now();
  let n = 0;
  bufs.forEach((b, i) => (n += readShard(b, `shard ${i}`).length));
  const d = (performance.now() - t1) / 1000;
  console.log(`readShard: ${n} records in ${d.toFixed(2)} s (${(n / d).toFixed(0)} records/s)`);
}

void main();
