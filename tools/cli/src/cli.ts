#!/usr/bin/env node
import { ConflictError, InputError, InputErrors } from '@selftrain/errors';
import { createLogger, type Logger } from '@selftrain/logger';

const USAGE = `usage:
  selftrain run [SPEC.yaml|SPEC.json]   run teacher -> labeler -> student -> evaluator (default spec: Fashion-MNIST)
  selftrain run --resume RUN            continue a run with the spec it started with (finished stages are reused)
  selftrain status RUN [--json]         print a run record (--json: all of it, as JSON on stdout)
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
  selftrain export RUN|CHECKPOINT --format onnx|tfjs [--generation G] --out PATH
                                        a run's student (last generation, or G) or a checkpoint (s3://KEY) as an ONNX file
                                        or a stock TF.js model directory (model.json + weights.bin); see docs/adr/0006

Storage: S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY, S3_SECRET_KEY (unset: embedded S3 under SELFTRAIN_HOME, default ./.selftrain)
Services: SELFTRAIN_TEACHER, SELFTRAIN_STUDENT, SELFTRAIN_EVALUATOR, SELFTRAIN_LABELERS (host:port; labelers a comma list or
  one name for many replicas; unset: the spec's services section, else the four services start locally)
Security: GRPC_TLS_CA_FILE (TLS, trusting this CA), GRPC_TLS_CERT_FILE + GRPC_TLS_KEY_FILE (client certificate),
  GRPC_TLS_SERVER_NAME, GRPC_AUTH_TOKEN_FILE or GRPC_AUTH_TOKEN (bearer token); SELFTRAIN_WAIT_SECONDS (wait for
  remote services to be SERVING, default 300)
Logs: LOG_LEVEL (default warn for the CLI; JSON lines on stderr); service logs under SELFTRAIN_HOME/services/`;

type Command = (args: string[], logger: Logger) => Promise<number>;

/**
 * Each command's module is loaded only when it runs: `status`, `report`, `show` and `--help` never load
 * TF.js, the gRPC clients or the driver, so they answer in a fraction of a second.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./run-command.js')).runCommand,
  experiment: async () => (await import('./experiment-command.js')).experimentCommand,
  status: async () => (await import('./status-command.js')).statusCommand,
  report: async () => (await import('./report-command.js')).reportCommand,
  show: async () => (await import('./show-command.js')).showCommand,
  ingest: async () => (await import('./ingest-command.js')).ingestCommand,
  up: async () => (await import('./up-command.js')).upCommand,
  export: async () => (await import('./export-command.js')).exportCommand,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const load = command !== undefined && Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!load || args.includes('--help')) {
    process.stderr.write(`${USAGE}\n`);
    return load || command === undefined || command === '--help' || command === 'help' ? 0 : 2;
  }
  // Logs go to stderr: stdout carries the command's answer (`status --json` is parsed by scripts).
  const logger = createLogger('selftrain', process.env.LOG_LEVEL ?? 'warn', 2);
  return (await load())(args, logger);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // A spec's problems (SpecError, an InputErrors from the driver's spec module), one per line.
    if (err instanceof InputErrors && err.name === 'SpecError') {
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
