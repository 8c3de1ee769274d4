import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { InputError } from '@selftrain/errors';
import type { Logger } from '@selftrain/logger';
import { loadRunRecord, openStore, selftrainHome } from '@selftrain/pipeline/records';
import { buildRunReport, type ExperimentTable } from '@selftrain/report';
import { stringFlag, type ParsedArgs } from './cli-args';

/** `selftrain report RUN|EXPERIMENT [--out FILE]`: one self-contained HTML page; prints its path. */
export async function reportCommand(args: ParsedArgs, logger: Logger): Promise<number> {
  const runId = args.positionals[0];
  if (!runId) throw new InputError('RUN', 'give the run id (the spec name)');
  const { store, close } = await openStore(logger);
  try {
    // An experiment's report: its tables, on the page of its last run.
    const experiment = (await store.exists(`experiments/${runId}/results.json`))
      ? await store.getJson<{ results: { run: string }[]; tables: ExperimentTable[] }>(`experiments/${runId}/results.json`) : undefined;
    const record = await loadRunRecord(store, experiment?.results.at(-1)?.run ?? runId);
    if (!record) { process.stderr.write(`no run ${runId} in bucket ${store.bucket}\n`); return 1; }
    const out = path.resolve(stringFlag(args, 'out') ?? (process.env.SELFTRAIN_HOME ? path.join(selftrainHome(), 'reports', `${runId}.html`) : `${runId}-report.html`));
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, await buildRunReport(store, record, { experiments: experiment?.tables }));
    process.stdout.write(`${out}\n`);
    return 0;
  } finally {
    await close();
  }
}
