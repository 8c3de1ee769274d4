import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { manifestKey, RECORD_FORMAT } from '@selftrain/data';
import type { ServiceName } from '@selftrain/pipeline';
import { DatasetManifest } from '@selftrain/proto';
import { S3ObjectStore, startEmbeddedS3, type EmbeddedS3 } from '@selftrain/storage';
import { SEEDED_DATASET } from './malformed-requests';
import { startServices, type ServiceProcess } from './service-processes';

export interface RobustnessStack {
  dir: string;
  s3: EmbeddedS3;
  store: S3ObjectStore;
  services: Record<ServiceName, ServiceProcess>;
  close(): Promise<void>;
}

/**
 * An embedded S3 server, a dataset manifest whose shards do not exist (so requests get past the
 * manifest and fail on the missing artifact), and the four services as processes.
 */
export async function startRobustnessStack(serviceEnv: Record<string, string>): Promise<RobustnessStack> {
  const dir = mkdtempSync(path.join(tmpdir(), 'selftrain-robustness-'));
  const s3 = await startEmbeddedS3({ directory: path.join(dir, 's3'), port: 0 });
  const store = await S3ObjectStore.connect(s3.config);
  const shard = (name: string) => ({ key: `${SEEDED_DATASET}/${name}-00000.tfrecord`, records: 10, sha256: '0'.repeat(64), sizeBytes: 1000 });
  await store.putJson(manifestKey(SEEDED_DATASET), DatasetManifest.toJSON(DatasetManifest.fromPartial({
    name: 'robustness', source: 'robustness test', classNames: ['a', 'b'], height: 28, width: 28, channels: 1, recordFormat: RECORD_FORMAT,
    splits: [
      { name: 'test', records: 10, labeled: true, classCounts: [5, 5], shards: [shard('test')] },
      { name: 'unlabeled', records: 10, labeled: false, shards: [shard('unlabeled')] },
    ],
  })));
  let services: Record<ServiceName, ServiceProcess>;
  try {
    services = await startServices(s3.config, dir, serviceEnv);
  } catch (err) {
    store.close();
    await s3.close();
    throw err;
  }
  return {
    dir, s3, store, services,
    close: async () => {
      await Promise.all(Object.values(services).map((s) => s.stop()));
      store.close();
      await s3.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
