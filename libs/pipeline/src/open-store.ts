import * as path from 'node:path';
import { InputErrors } from '@selftrain/errors';
import type { Logger } from '@selftrain/logger';
import { S3ObjectStore, startEmbeddedS3, storageConfigFromEnv, type EmbeddedS3, type StorageConfig } from '@selftrain/storage';

/** Where local state lives: the embedded S3 data, service logs. */
export function selftrainHome(): string {
  return path.resolve(process.env.SELFTRAIN_HOME ?? '.selftrain');
}

/**
 * The bucket from S3_* variables when set (MinIO, AWS S3, SeaweedFS, ...), otherwise the embedded
 * S3-compatible server on loopback with its data under SELFTRAIN_HOME. Same client either way.
 */
export async function openStore(logger: Logger): Promise<{ store: S3ObjectStore; config: StorageConfig; embedded?: EmbeddedS3; close(): Promise<void> }> {
  const fromEnv = storageConfigFromEnv();
  if (fromEnv.problems.length) throw new InputErrors(fromEnv.problems);
  let embedded: EmbeddedS3 | undefined;
  let config = fromEnv.config;
  if (!config) {
    embedded = await startEmbeddedS3({ directory: path.join(selftrainHome(), 's3'), port: 0, logger });
    config = embedded.config;
  }
  const store = await S3ObjectStore.connect({ ...config, createBucket: true }, logger);
  return { store, config, embedded, close: async () => { store.close(); await embedded?.close(); } };
}
