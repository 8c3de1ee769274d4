// Command lines parsed by node:util's parseArgs against each command's declared flags: an unknown flag, a
// flag without its value or an extra argument is an InputError naming it (exit 2); `--flag=value` and
// `--flag value` both work; `--help` (or -h) anywhere before `--` asks for the command's help.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InputError } from '@selftrain/errors';

export type FlagSpec = NonNullable<ParseArgsConfig['options']>;

/** What a command receives: its flags by name (without the dashes) and its plain arguments. */
export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** True when the arguments ask for help (before any `--`). */
export function wantsHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/** Parses `args` against `flags`; `name` (e.g. "selftrain run") is what errors send the user to. */
export function parseCommandArgs(args: string[], flags: FlagSpec, maxPositionals: number, name: string): ParsedArgs {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options: flags, strict: true, allowPositionals: true });
  } catch (err) {
    throw argError(err as Error & { code?: string }, name);
  }
  if (parsed.positionals.length > maxPositionals) {
    const extra = parsed.positionals[maxPositionals];
    throw new InputError(extra, `unexpected argument for ${name} (see ${name} --help)`);
  }
  return { values: parsed.values as ParsedArgs['values'], positionals: parsed.positionals };
}

/** parseArgs' TypeError as an InputError whose field is the flag (its message names it in quotes). */
function argError(err: Error & { code?: string }, name: string): Error {
  const flag = /'(-[^' ]+)/.exec(err.message)?.[1] ?? 'arguments';
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new InputError(flag, `unknown option for ${name} (see ${name} --help)`);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return new InputError(flag, err.message.includes('argument missing') ? 'needs a value' : err.message);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new InputError('arguments', err.message);
    default:
      return err;
  }
}

/** A string flag's value, or undefined when absent. */
export function stringFlag(a: ParsedArgs, name: string): string | undefined {
  const v = a.values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A repeatable string flag's values (empty when absent). */
export function listFlag(a: ParsedArgs, name: string): string[] {
  const v = a.values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

export function booleanFlag(a: ParsedArgs, name: string): boolean {
  return a.values[name] === true;
}

/** An integer flag in [min, max], or undefined when absent; anything else is an InputError naming the flag. */
export function intFlag(a: ParsedArgs, name: string, min: number, max = 2 ** 31 - 1): number | undefined {
  const raw = stringFlag(a, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new InputError(`--${name}`, `must be an integer ${max === 2 ** 31 - 1 ? `>= ${min}` : `in [${min}, ${max}]`}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** A flag that must be given. */
export function requiredFlag(a: ParsedArgs, name: string): string {
  const v = stringFlag(a, name);
  if (v === undefined || v === '') throw new InputError(`--${name}`, 'is required');
  return v;
}
