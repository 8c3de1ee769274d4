import { InputError } from '@selftrain/errors';
import type { Logger } from '@selftrain/logger';
import { loadRunRecord, openStore, resultsTable } from '@selftrain/pipeline/records';
import { RunRecord } from '@selftrain/proto';
import { booleanFlag, type ParsedArgs } from './cli-args';

/**
 * `selftrain status RUN [--json]`: the run record, as stages and the results table, or all of it as JSON.
 * Reads the bucket only (the light `records` entry): no TF.js, no gRPC clients.
 */
export async function statusCommand(args: ParsedArgs, logger: Logger): Promise<number> {
  const runId = args.positionals[0];
  if (!runId) throw new InputError('RUN', 'give the run id (the spec name)');
  const { store, close } = await openStore(logger);
  try {
    const record = await loadRunRecord(store, runId);
    if (!record) { process.stderr.write(`no run ${runId} in bucket ${store.bucket}\n`); return 1; }
    if (booleanFlag(args, 'json')) { process.stdout.write(`${JSON.stringify(RunRecord.toJSON(record), null, 2)}\n`); return 0; }
    process.stdout.write(`run ${record.runId}: ${record.state}${record.error ? ` (${record.error})` : ''}\n`);
    for (const g of record.generations) {
      for (const name of ['teacher', 'labeling', 'student', 'evaluation'] as const) {
        const s = g[name];
        process.stdout.write(`  gen ${g.index} ${name.padEnd(10)} ${s?.state ?? 'pending'} ${s?.seconds ? `${s.seconds.toFixed(0)} s` : ''} ${s?.outputs?.[0]?.key ?? ''}\n`);
      }
    }
    process.stdout.write(`\n${resultsTable(record)}\n`);
    return 0;
  } finally {
    await close();
  }
}
