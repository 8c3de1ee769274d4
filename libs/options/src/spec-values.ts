import { defaultFor, type Option, type Role, type Task } from './option';

/** The spec's defaults of a group of options in one context, by spec key (options without one left out). */
export function specDefaults(options: Record<string, Option>, task: Task, role: Role = 'teacher'): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const o of Object.values(options)) if (o.spec !== undefined) out[o.spec] = defaultFor(o, task, role);
  return out;
}

/**
 * Request fields from a spec section, by the declarations: each option's spec value goes to its proto
 * field, unrenamed and uninverted. `encode` turns a value into its wire form where they differ (enums).
 */
export function requestFields(options: Record<string, Option>, spec: object, encode: (name: string, value: unknown) => unknown = (_n, v) => v): Record<string, unknown> {
  const section = spec as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [name, o] of Object.entries(options)) {
    if (o.spec === undefined || o.proto === undefined || !(o.spec in section)) continue;
    out[o.proto] = encode(name, section[o.spec]);
  }
  return out;
}

/** Resolved values (by option name) as spec values (by spec key), for sections with other defaults. */
export function specValues(options: Record<string, Option>, resolved: object): Record<string, unknown> {
  const values = resolved as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [name, o] of Object.entries(options)) if (o.spec !== undefined && name in values) out[o.spec] = values[name];
  return out;
}
