import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { InputError } from '@selftrain/errors';
import type { Logger } from '@selftrain/logger';
import { loadRunRecord, openStore, selftrainHome } from '@selftrain/pipeline/records';
import { buildSampleGrid } from '@selftrain/report';
import { intFlag, stringFlag, type ParsedArgs } from './cli-args';

/** `selftrain show RUN [--out FILE] [--count N] [--generation G]`: a PNG grid of the run's pseudo-labels. */
export async function showCommand(args: ParsedArgs, logger: Logger): Promise<number> {
  const runId = args.positionals[0];
  if (!runId) throw new InputError('RUN', 'give the run id (the spec name)');
  const count = intFlag(args, 'count', 1);
  const generation = intFlag(args, 'generation', 0);
  const { store, close } = await openStore(logger);
  try {
    const record = await loadRunRecord(store, runId);
    if (!record) { process.stderr.write(`no run ${runId} in bucket ${store.bucket}\n`); return 1; }
    const grid = await buildSampleGrid(store, record, { count, generation });
    const out = path.resolve(stringFlag(args, 'out') ?? (process.env.SELFTRAIN_HOME ? path.join(selftrainHome(), 'reports', `${runId}-samples.png`) : `${runId}-samples.png`));
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, grid.png);
    process.stderr.write(`${grid.samples} ${grid.task} pseudo-labels of generation ${grid.generation} (${grid.shards.join(', ')})\n`);
    process.stdout.write(`${out}\n`);
    return 0;
  } finally {
    await close();
  }
}
