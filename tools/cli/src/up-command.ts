import type { Logger } from '@selftrain/logger';
import { openStore, selftrainHome, startLocalStack } from '@selftrain/pipeline';
import { intFlag, type ParsedArgs } from './cli-args';

/** `selftrain up [--labelers N]`: the services on this machine until SIGINT/SIGTERM; prints their addresses. */
export async function upCommand(args: ParsedArgs, logger: Logger): Promise<number> {
  const labelers = intFlag(args, 'labelers', 1, 64) ?? 1;
  const { config, close } = await openStore(logger);
  const stack = await startLocalStack({ home: selftrainHome(), labelers, logger, storage: config });
  process.stdout.write(`${JSON.stringify({ storage: `http://${config.endPoint}:${config.port}/${config.bucket}`, ...stack.addresses }, null, 2)}\n`);
  await new Promise<void>((resolve) => { process.once('SIGINT', resolve); process.once('SIGTERM', resolve); });
  await stack.stop();
  await close();
  return 0;
}
