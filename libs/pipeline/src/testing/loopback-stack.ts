// What the pipeline's integration tests run on: an S3-compatible server on loopback and the four services
// as processes (one labeler), with their clients and the driver's deps, all under a fresh temporary
// directory that close() removes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { silentLogger } from '@selftrain/logger';
import { S3ObjectStore, startEmbeddedS3, type EmbeddedS3 } from '@selftrain/storage';
import type { DriverDeps } from '../driver';
import { startLocalStack, type LocalStack } from '../local-stack';
import { ProgressDisplay } from '../progress-display';
import { connectServices, type ServiceClients } from '../service-clients';

/** A progress display that writes nowhere. */
export const quietDisplay = new ProgressDisplay({ write: () => true, isTTY: false } as unknown as NodeJS.WriteStream);

export interface LoopbackStack {
  home: string;
  s3: EmbeddedS3;
  store: S3ObjectStore;
  stack: LocalStack;
  clients: ServiceClients;
  deps: DriverDeps;
  close(): Promise<void>;
}

/** `name` names the temporary directory and the driver's request id. */
export async function startLoopbackStack(name: string): Promise<LoopbackStack> {
  const home = mkdtempSync(path.join(tmpdir(), `selftrain-${name}-`));
  const s3 = await startEmbeddedS3({ directory: path.join(home, 's3'), port: 0 });
  const store = await S3ObjectStore.connect(s3.config);
  const stack = await startLocalStack({ home, labelers: 1, logger: silentLogger, storage: s3.config });
  const clients = connectServices(stack.addresses);
  return {
    home, s3, store, stack, clients,
    deps: { store, clients, logger: silentLogger, display: quietDisplay, requestId: name },
    close: async () => {
      clients.close();
      await stack.stop();
      store.close();
      await s3.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
