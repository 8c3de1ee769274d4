import { randomUUID } from 'node:crypto';
import { InputError } from '@selftrain/errors';
import type { Logger } from '@selftrain/logger';
import { loadGridFile, markdownTable, ProgressDisplay, runExperiment, validateSpec } from '@selftrain/pipeline';
import { intFlag, type ParsedArgs } from './cli-args';
import { withServices } from './with-services';

/** `selftrain experiment GRID.yaml [--parallel N]`: every cell of the grid, then the paper's tables. */
export async function experimentCommand(args: ParsedArgs, logger: Logger): Promise<number> {
  const display = new ProgressDisplay();
  const file = args.positionals[0];
  const parallel = intFlag(args, 'parallel', 1, 16) ?? 1;
  if (!file) throw new InputError('GRID', 'give the grid file (YAML)');
  const grid = loadGridFile(file);
  const local = validateSpec({ ...grid.base, name: grid.name });
  return withServices(local.services, local.local.labelers, logger, display, async (deps, bucket) => {
    const outcome = await runExperiment(grid, { ...deps, requestId: `experiment-${grid.name}-${randomUUID().slice(0, 8)}` }, parallel);
    process.stdout.write(`\n${outcome.tables.map(markdownTable).join('\n\n')}\n\nresults: s3://${bucket}/${outcome.keys.results}; report: selftrain report ${grid.name}\n`);
    return 0;
  });
}
