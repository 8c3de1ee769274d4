import { randomUUID } from 'node:crypto';
import { ConflictError, InputError, InputErrors } from '@selftrain/errors';
import type { Logger } from '@selftrain/logger';
import { loadRunRecord, loadSpecFile, loadSpecFileForStore, openStore, ProgressDisplay, resultsTable, runPipeline, validateSpec, type RunSpec } from '@selftrain/pipeline';
import { booleanFlag, stringFlag, type ParsedArgs } from './cli-args';
import { withServices } from './with-services';

/** `run --resume RUN`: the spec the run was started with, from its record; finished stages are reused. */
async function specOfRun(runId: string, logger: Logger): Promise<RunSpec> {
  const { store, close } = await openStore(logger);
  try {
    const record = await loadRunRecord(store, runId);
    if (!record) throw new InputError('--resume', `no run ${runId} in bucket ${store.bucket}`);
    return validateSpec(JSON.parse(record.specJson));
  } finally {
    await close();
  }
}

/** `selftrain run [SPEC] | --resume RUN`: the whole loop, then the results table. */
export async function runCommand(args: ParsedArgs, logger: Logger): Promise<number> {
  const display = new ProgressDisplay();
  const resumeId = stringFlag(args, 'resume');
  if (resumeId !== undefined && args.positionals.length > 0) throw new InputError('--resume', `give a spec file or --resume RUN, not both (got ${args.positionals[0]})`);
  const first = resumeId !== undefined ? await specOfRun(resumeId, logger) : loadSpecFile(args.positionals[0]);
  return withServices(first.services, first.local.labelers, logger, display, async (deps, bucket) => {
    // A dataset already in the bucket decides the model defaults (photos or 28x28 grey): read it now the store is open.
    const spec = resumeId === undefined && first.dataset.source === 'bucket' ? await loadSpecFileForStore(args.positionals[0], deps.store) : first;
    const started = Date.now();
    const teacherOnly = booleanFlag(args, 'teacher-only');
    const record = await runPipeline(spec, { ...deps, teacherOnly, requestId: `run-${spec.name}-${randomUUID().slice(0, 8)}` }).catch((err: unknown) => {
      // Finished stages are in the record: say how to continue rather than start over.
      if (!(err instanceof ConflictError || err instanceof InputError || err instanceof InputErrors)) {
        process.stderr.write(`run ${spec.name} stopped; once the cause is fixed, continue with: selftrain run --resume ${spec.name}\n`);
      }
      throw err;
    });
    process.stdout.write(`\n${resultsTable(record)}\n\nrun ${record.runId} ${record.state} in ${((Date.now() - started) / 1000).toFixed(0)} s; record: s3://${bucket}/runs/${record.runId}/run.json\n`);
    return 0;
  });
}
