import { InputError } from '@selftrain/errors';

export const TASKS = ['classification', 'detection', 'segmentation'] as const;
export type Task = (typeof TASKS)[number];
export const ROLES = ['teacher', 'student'] as const;
export type Role = (typeof ROLES)[number];

/**
 * What a classifier's input looks like, where a default depends on it. 'photos': a user's own images
 * (dataset.source: images), RGB or grey of any size, rather than the 28x28 grey the classification
 * defaults were tuned on.
 */
export const INPUTS = ['photos'] as const;
export type Input = (typeof INPUTS)[number];

/**
 * Where a default differs from the option's own: a task, a role, a task's role, or (classification) an
 * input and an input's role. Most specific wins.
 */
export type Where = Task | Role | `${Task}.${Role}` | Input | `${Input}.${Role}`;

interface Declared<T> {
  /** The key in the run spec's section; absent for an option the spec does not expose. */
  spec?: string;
  /** The field of the request message as ts-proto names it; absent for a spec-only option. */
  proto?: string;
  /** The default for a classification teacher (and for every context `by` does not name). */
  default: T;
  by?: Partial<Record<Where, T>>;
}
export interface NumberOption extends Declared<number> { type: 'number'; min: number; max: number; integer?: boolean }
export interface BooleanOption extends Declared<boolean> { type: 'boolean' }
export interface ChoiceOption extends Declared<string> { type: 'choice'; choices: readonly string[] }
export interface TextOption extends Declared<string> { type: 'text' }
export type Option = NumberOption | BooleanOption | ChoiceOption | TextOption;

/**
 * The default in one context: for a classifier of `input`, `input.role` then `input`; then `task.role`,
 * `task`, `role`, and the option's own.
 */
export function defaultFor<O extends Option>(option: O, task: Task = 'classification', role: Role = 'teacher', input?: Input): O['default'] {
  const by = (option.by ?? {}) as Partial<Record<Where, O['default']>>;
  const forInput = input && task === 'classification' ? by[`${input}.${role}`] ?? by[input] : undefined;
  return forInput ?? by[`${task}.${role}`] ?? by[task] ?? by[role] ?? option.default;
}

/** Why `value` does not fit the option (its type, range or choices), or undefined when it does. */
export function problemWith(option: Option, value: unknown): string | undefined {
  const show = (v: unknown) => (typeof v === 'string' ? `the string ${JSON.stringify(v.slice(0, 40))}` : Array.isArray(v) ? 'a list' : `${typeof v} ${JSON.stringify(v)}`);
  switch (option.type) {
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return `must be a number, got ${show(value)}`;
      if (option.integer && !Number.isInteger(value)) return `must be an integer, got ${value}`;
      if (value < option.min || value > option.max) return `must be in [${option.min}, ${option.max}], got ${value}`;
      return undefined;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `must be true or false, got ${show(value)}`;
    case 'choice':
      if (typeof value !== 'string') return `must be a string, got ${show(value)}`;
      return option.choices.includes(value) ? undefined : `must be one of ${option.choices.join(', ')}, got ${JSON.stringify(value)}`;
    case 'text':
      return typeof value === 'string' ? undefined : `must be a string, got ${show(value)}`;
  }
}

/**
 * A request field resolved by presence: absent (undefined) takes the context's default, anything sent is
 * checked and kept, 0 included. `field` names the request field in the error.
 */
export function resolveOption<O extends Option>(option: O, value: O['default'] | undefined, field: string, task?: Task, role?: Role): O['default'] {
  if (value === undefined) return defaultFor(option, task, role);
  const problem = problemWith(option, value);
  if (problem) throw new InputError(field, problem);
  return value;
}

/** snake_case name of a proto field, as requests and the spec name it in errors. */
export function protoFieldName(option: Option): string {
  return (option.proto ?? '').replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
