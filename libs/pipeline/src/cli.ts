#!/usr/bin/env node
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ConflictError, InputError, InputErrors } from '@selftrain/errors';
import { ingestCoco, ingestFashionMnist, ingestVocSegmentation } from '@selftrain/data';
import { createLogger } from '@selftrain/logger';
import { RunRecord } from '@selftrain/proto';
import { buildRunReport, buildSampleGrid, type ExperimentTable } from '@selftrain/report';
import { clientSecurityFromEnv } from '@selftrain/rpc';
import { runPipeline, type DriverDeps } from './driver';
import { startLocalStack } from './local-stack';
import { openStore, selftrainHome } from './open-store';
import { ProgressDisplay } from './progress-display';
import { resultsTable } from './results-table';
import { loadRunRecord } from './run-record-store';
import { connectServices, serviceAddressesFromEnv, type ServiceAddresses } from './service-clients';
import { loadGridFile } from './experiment-grid';
import { markdownTable } from './experiment-results';
import { runExperiment } from './run-experiment';
import { waitForServices } from './wait-for-services';
import { loadSpecFile, SpecError, validateSpec, type RunSpec } from './spec';

const USAGE = `usage:
  selftrain run [SPEC.yaml|SPEC.json]   run teacher -> labeler -> student -> evaluator (default spec: Fashion-MNIST)
  selftrain run --resume RUN            continue a run with the spec it started with (finished stages are reused)
  selftrain status RUN                  print a run record
  selftrain experiment GRID.yaml [--parallel N]
                                        run a grid (labeled fraction x augmentation x init x self-training, over seeds)
                                        and print the paper's tables; reruns reuse every finished stage
  selftrain report RUN [--out FILE]     write the run's report, one self-contained HTML file (default
                                        SELFTRAIN_HOME/reports/RUN.html, or ./RUN-report.html without SELFTRAIN_HOME)
  selftrain show RUN [--out FILE] [--count N] [--generation G]
                                        write a PNG grid of the run's pseudo-labels (default 24, from the last generation
                                        with pseudo-labels): boxes, masks or class frames; default SELFTRAIN_HOME/reports/
                                        RUN-samples.png, or ./RUN-samples.png without SELFTRAIN_HOME
  selftrain ingest fashion-mnist [--source DIR] [--labels-per-class N] [--seed N] [--prefix P] [--label-space fine|coarse]
  selftrain ingest coco --annotations INSTANCES.json --images DIR [--unlabeled DIR] --prefix P [--seed N]
  selftrain ingest voc --images DIR --masks DIR --prefix P [--classes background,a,b,...] [--seed N]
                                        bring your own detection / segmentation data (run it with dataset.source: bucket)
  selftrain up [--labelers N]           start the services locally and print their addresses

Storage: S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY, S3_SECRET_KEY (unset: embedded S3 under SELFTRAIN_HOME, default ./.selftrain)
Services: SELFTRAIN_TEACHER, SELFTRAIN_STUDENT, SELFTRAIN_EVALUATOR, SELFTRAIN_LABELERS (host:port; labelers a comma list or
  one name for many replicas; unset: the spec's services section, else the four services start locally)
Security: GRPC_TLS_CA_FILE (TLS, trusting this CA), GRPC_TLS_CERT_FILE + GRPC_TLS_KEY_FILE (client certificate),
  GRPC_TLS_SERVER_NAME, GRPC_AUTH_TOKEN_FILE or GRPC_AUTH_TOKEN (bearer token); SELFTRAIN_WAIT_SECONDS (wait for
  remote services to be SERVING, default 300)
Logs: LOG_LEVEL (default warn for the CLI); service logs under SELFTRAIN_HOME/services/`;

/** `run --resume RUN`: the spec the run was started with, from its record; finished stages are reused. */
async function specOfRun(runId: string, logger: ReturnType<typeof createLogger>): Promise<RunSpec> {
  const { store, close } = await openStore(logger);
  try {
    const record = await loadRunRecord(store, runId);
    if (!record) throw new InputError('--resume', `no run ${runId} in bucket ${store.bucket}`);
    return validateSpec(JSON.parse(record.specJson));
  } finally {
    await close();
  }
}

/** SELFTRAIN_WAIT_SECONDS: how long a run waits for remote services to be SERVING (default 300). */
function waitSeconds(): number {
  const raw = process.env.SELFTRAIN_WAIT_SECONDS;
  const n = raw === undefined || raw === '' ? 300 : Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new InputError('SELFTRAIN_WAIT_SECONDS', `must be a number of seconds, got ${JSON.stringify(raw)}`);
  return n;
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/**
 * The services a command talks to: SELFTRAIN_* or the spec's services section when set (waiting until
 * they serve), else the four started here as processes, for as long as `work` runs.
 */
async function withServices(
  fromSpec: ServiceAddresses, labelers: number, logger: ReturnType<typeof createLogger>, display: ProgressDisplay,
  work: (deps: Omit<DriverDeps, 'requestId'>, bucket: string) => Promise<number>,
): Promise<number> {
  const remote = serviceAddressesFromEnv() ?? (fromSpec.teacher !== '' ? fromSpec : undefined);
  const security = clientSecurityFromEnv();
  const { store, config, close } = await openStore(logger);
  const stack = remote ? undefined : await startLocalStack({ home: selftrainHome(), labelers, logger, storage: config });
  const addresses = stack?.addresses ?? remote!;
  try {
    if (remote) await waitForServices(remote, security, waitSeconds(), (m) => display.note(m));
    const clients = connectServices(addresses, security);
    try {
      display.note(`services: teacher ${addresses.teacher}, student ${addresses.student}, evaluator ${addresses.evaluator}, labelers ${addresses.labelers.join(' ')}`);
      return await work({ store, clients, logger, display }, config.bucket);
    } finally {
      clients.close();
    }
  } finally {
    await stack?.stop();
    await close();
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const logger = createLogger('selftrain', process.env.LOG_LEVEL ?? 'warn');
  const display = new ProgressDisplay();
  switch (command) {
    case 'run': {
      const resumeId = flag(args, '--resume');
      const spec = resumeId ? await specOfRun(resumeId, logger) : loadSpecFile(args.find((a) => !a.startsWith('--')));
      return withServices(spec.services, spec.local.labelers, logger, display, async (deps, bucket) => {
        const started = Date.now();
        const record = await runPipeline(spec, { ...deps, requestId: `run-${spec.name}-${randomUUID().slice(0, 8)}` }).catch((err: unknown) => {
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
    case 'experiment': {
      const file = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--parallel');
      if (!file) throw new InputError('GRID', 'give the grid file (YAML)');
      const grid = loadGridFile(file);
      const local = validateSpec({ ...grid.base, name: grid.name });
      return withServices(local.services, local.local.labelers, logger, display, async (deps, bucket) => {
        const parallel = Number(flag(args, '--parallel') ?? 1);
        if (!Number.isInteger(parallel) || parallel < 1 || parallel > 16) throw new InputError('--parallel', `must be an integer in [1, 16], got ${flag(args, '--parallel')}`);
        const outcome = await runExperiment(grid, { ...deps, requestId: `experiment-${grid.name}-${randomUUID().slice(0, 8)}` }, parallel);
        process.stdout.write(`\n${outcome.tables.map(markdownTable).join('\n\n')}\n\nresults: s3://${bucket}/${outcome.keys.results}; report: selftrain report ${grid.name}\n`);
        return 0;
      });
    }
    case 'status': {
      const runId = args[0];
      if (!runId) throw new InputError('RUN', 'give the run id (the spec name)');
      const { store, close } = await openStore(logger);
      try {
        const record = await loadRunRecord(store, runId);
        if (!record) { process.stderr.write(`no run ${runId} in bucket ${store.bucket}\n`); return 1; }
        if (args.includes('--json')) { process.stdout.write(`${JSON.stringify(RunRecord.toJSON(record), null, 2)}\n`); return 0; }
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
    case 'report': {
      const runId = args[0];
      if (!runId || runId.startsWith('--')) throw new InputError('RUN', 'give the run id (the spec name)');
      const { store, close } = await openStore(logger);
      try {
        // An experiment's report: its tables, on the page of its last run.
        const experiment = (await store.exists(`experiments/${runId}/results.json`))
          ? await store.getJson<{ results: { run: string }[]; tables: ExperimentTable[] }>(`experiments/${runId}/results.json`) : undefined;
        const record = await loadRunRecord(store, experiment?.results.at(-1)?.run ?? runId);
        if (!record) { process.stderr.write(`no run ${runId} in bucket ${store.bucket}\n`); return 1; }
        const out = path.resolve(flag(args, '--out') ?? (process.env.SELFTRAIN_HOME ? path.join(selftrainHome(), 'reports', `${runId}.html`) : `${runId}-report.html`));
        mkdirSync(path.dirname(out), { recursive: true });
        writeFileSync(out, await buildRunReport(store, record, { experiments: experiment?.tables }));
        process.stdout.write(`${out}\n`);
        return 0;
      } finally {
        await close();
      }
    }
    case 'show': {
      const runId = args[0];
      if (!runId || runId.startsWith('--')) throw new InputError('RUN', 'give the run id (the spec name)');
      const int = (name: string, min: number): number | undefined => {
        const raw = flag(args, name);
        if (raw === undefined) return undefined;
        const n = Number(raw);
        if (!Number.isInteger(n) || n < min) throw new InputError(name, `must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
        return n;
      };
      const count = int('--count', 1);
      const generation = int('--generation', 0);
      const { store, close } = await openStore(logger);
      try {
        const record = await loadRunRecord(store, runId);
        if (!record) { process.stderr.write(`no run ${runId} in bucket ${store.bucket}\n`); return 1; }
        const grid = await buildSampleGrid(store, record, { count, generation });
        const out = path.resolve(flag(args, '--out') ?? (process.env.SELFTRAIN_HOME ? path.join(selftrainHome(), 'reports', `${runId}-samples.png`) : `${runId}-samples.png`));
        mkdirSync(path.dirname(out), { recursive: true });
        writeFileSync(out, grid.png);
        process.stderr.write(`${grid.samples} ${grid.task} pseudo-labels of generation ${grid.generation} (${grid.shards.join(', ')})\n`);
        process.stdout.write(`${out}\n`);
        return 0;
      } finally {
        await close();
      }
    }
    case 'ingest': {
      const { store, close } = await openStore(logger);
      try {
        const n = (name: string) => (flag(args, name) === undefined ? undefined : Number(flag(args, name)));
        const required = (name: string) => {
          const v = flag(args, name);
          if (!v) throw new InputError(name, 'is required');
          return v;
        };
        const onProgress = (done: number, total: number) => display.update('ingest', done, total);
        let result: { manifestArtifact: { key: string }; manifest: { splits: { name: string; records: number }[] }; reused?: boolean };
        switch (args[0]) {
          case 'fashion-mnist':
            result = await ingestFashionMnist(store, {
              sourceDir: flag(args, '--source'), prefix: flag(args, '--prefix'), labelsPerClass: n('--labels-per-class'), seed: n('--seed'),
              labelSpace: flag(args, '--label-space') as 'fine' | 'coarse' | undefined, onProgress,
            });
            break;
          case 'coco':
            result = await ingestCoco(store, {
              annotationFile: required('--annotations'), imageDir: required('--images'), unlabeledDir: flag(args, '--unlabeled'),
              prefix: required('--prefix'), seed: n('--seed'), onProgress,
            });
            break;
          case 'voc':
            result = await ingestVocSegmentation(store, {
              imageDir: required('--images'), maskDir: required('--masks'), prefix: required('--prefix'), seed: n('--seed'),
              classNames: flag(args, '--classes')?.split(','), onProgress,
            });
            break;
          default:
            throw new InputError('source', `unknown source ${JSON.stringify(args[0] ?? '')}; supported: fashion-mnist, coco, voc`);
        }
        display.finish('ingest', `${result.reused ? 'already there' : 'written'}: ${result.manifestArtifact.key} (${result.manifest.splits.map((s) => `${s.name} ${s.records}`).join(', ')})`);
        return 0;
      } finally {
        await close();
      }
    }
    case 'up': {
      const { config, close } = await openStore(logger);
      const stack = await startLocalStack({ home: selftrainHome(), labelers: Number(flag(args, '--labelers') ?? 1), logger, storage: config });
      process.stdout.write(`${JSON.stringify({ storage: `http://${config.endPoint}:${config.port}/${config.bucket}`, ...stack.addresses }, null, 2)}\n`);
      await new Promise<void>((resolve) => { process.once('SIGINT', resolve); process.once('SIGTERM', resolve); });
      await stack.stop();
      await close();
      return 0;
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      return command === undefined || command === '--help' || command === 'help' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof SpecError) {
      process.stderr.write(`invalid spec:\n${err.problems.map((p) => `  ${p.message}`).join('\n')}\n`);
      process.exit(2);
    }
    if (err instanceof InputError || err instanceof InputErrors || err instanceof ConflictError) {
      process.stderr.write(`error: ${(err as Error).message}\n`);
      process.exit(2);
    }
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
