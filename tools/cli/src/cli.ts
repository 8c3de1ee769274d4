#!/usr/bin/env node
import { ConflictError, InputError, InputErrors } from '@selftrain/errors';
import { createLogger } from '@selftrain/logger';
import { parseCommandArgs, wantsHelp } from './cli-args';
import { COMMANDS, usageOf } from './command-table';

const ENVIRONMENT = `Storage: S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY, S3_SECRET_KEY (unset: embedded S3 under SELFTRAIN_HOME, default ./.selftrain)
Services: SELFTRAIN_TEACHER, SELFTRAIN_STUDENT, SELFTRAIN_EVALUATOR, SELFTRAIN_LABELERS (host:port; labelers a comma list or
  one name for many replicas; unset: the spec's services section, else the four services start locally)
Security: GRPC_TLS_CA_FILE (TLS, trusting this CA), GRPC_TLS_CERT_FILE + GRPC_TLS_KEY_FILE (client certificate),
  GRPC_TLS_SERVER_NAME, GRPC_AUTH_TOKEN_FILE or GRPC_AUTH_TOKEN (bearer token); SELFTRAIN_WAIT_SECONDS (wait for
  remote services to be SERVING, default 300)
Logs: LOG_LEVEL (default warn for the CLI; JSON lines on stderr); service logs under SELFTRAIN_HOME/services/`;

const USAGE = `usage:\n${Object.values(COMMANDS).map(usageOf).join('\n')}\n\n${ENVIRONMENT}`;

/** Help goes to stderr like every other message: stdout carries only a command's answer. */
function help(text: string, code: number): number {
  process.stderr.write(`${text}\n`);
  return code;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') return help(USAGE, 0);
  // Object.hasOwn: a name on Object.prototype (toString) is not a command.
  let spec = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!spec) return help(`unknown command ${JSON.stringify(name)}\n${USAGE}`, 2);
  let path = `selftrain ${name}`;
  let args = rest;
  if (spec.subcommands) {
    const sub = args[0] !== undefined && Object.hasOwn(spec.subcommands, args[0]) ? spec.subcommands[args[0]] : undefined;
    if (!sub) {
      if (wantsHelp(args) || args.length === 0) return help(`usage:\n${usageOf(spec)}`, wantsHelp(args) ? 0 : 2);
      throw new InputError('SOURCE', `unknown ${name} source ${JSON.stringify(args[0])}; supported: ${Object.keys(spec.subcommands).join(', ')}`);
    }
    path = `${path} ${args[0]}`;
    spec = sub;
    args = args.slice(1);
  }
  if (wantsHelp(args)) return help(`usage:\n${usageOf(spec)}\n\n${ENVIRONMENT}`, 0);
  const parsed = parseCommandArgs(args, spec.flags ?? {}, spec.positionals ?? 0, path);
  // Logs go to stderr: stdout carries the command's answer (`status --json` is parsed by scripts).
  const logger = createLogger('selftrain', process.env.LOG_LEVEL ?? 'warn', 2);
  return (await spec.load!())(parsed, logger);
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
