import { InputError, InputErrors } from '@selftrain/errors';

export type Env = Record<string, string | undefined>;

/**
 * Reads typed settings from the environment, collecting every problem instead of stopping at the
 * first, so a misconfigured pod reports all of its mistakes in one log line.
 */
export class ConfigReader {
  readonly problems: InputError[] = [];

  constructor(private readonly env: Env = process.env) {}

  string(name: string, fallback?: string): string {
    const raw = this.env[name];
    if (raw === undefined || raw === '') {
      if (fallback === undefined) this.problems.push(new InputError(name, 'is required'));
      return fallback ?? '';
    }
    return raw;
  }

  optional(name: string): string | undefined {
    const raw = this.env[name];
    return raw === undefined || raw === '' ? undefined : raw;
  }

  int(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value)) {
      this.problems.push(new InputError(name, `must be an integer, got ${JSON.stringify(raw)}`));
      return fallback;
    }
    if (range.min !== undefined && value < range.min) {
      this.problems.push(new InputError(name, `must be >= ${range.min}, got ${value}`));
    } else if (range.max !== undefined && value > range.max) {
      this.problems.push(new InputError(name, `must be <= ${range.max}, got ${value}`));
    }
    return value;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
    if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
    this.problems.push(new InputError(name, `must be true or false, got ${JSON.stringify(raw)}`));
    return fallback;
  }

  oneOf<T extends string>(name: string, values: readonly T[], fallback: T): T {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!values.includes(raw as T)) {
      this.problems.push(new InputError(name, `must be one of ${values.join(', ')}, got ${JSON.stringify(raw)}`));
      return fallback;
    }
    return raw as T;
  }

  /** Adds problems found by another reader (e.g. storage settings). */
  add(problems: InputError[]): void {
    this.problems.push(...problems);
  }

  /** Returns the value, or throws every problem at once. */
  done<T>(value: T): T {
    if (this.problems.length > 0) throw new InputErrors(this.problems);
    return value;
  }
}
