import { parse as parseYaml } from 'yaml';
import { readFileSync } from 'node:fs';
import { InputError, InputErrors } from '@selftrain/errors';
import { validateSpec, type RunSpec } from './spec';

/**
 * The paper's study as a grid: labeled-data fraction x augmentation strength x initialisation x
 * {supervised only, + self-training}, repeated over seeds. `init` values: `random`, or
 * `checkpoint:KEY` (a model.json in the bucket pretrained on another task; its head is re-initialised).
 */
export const GRID_AXES = ['labeled_fraction', 'augment', 'init', 'self_training'] as const;
export type GridAxis = (typeof GRID_AXES)[number];

export interface ExperimentGrid {
  name: string;
  /** Run-spec fields every cell starts from (teacher, student, labeling, dataset, ...). */
  base: Record<string, unknown>;
  axes: { labeled_fraction: number[]; augment: string[]; init: string[]; self_training: boolean[] };
  seeds: number[];
}

export interface GridCell {
  fraction: number;
  augment: string;
  init: string;
  seed: number;
  /** Whether the cell's self-training rows are wanted (else only its teacher runs). */
  selfTraining: boolean;
  spec: RunSpec;
}

const AUGMENTS = ['none', 's1', 's2', 's3', 's4'];
const DEFAULT_AXES = { labeled_fraction: [1], augment: ['s1'], init: ['random'], self_training: [false, true] };

class GridError extends InputErrors {}

/** Every problem in the grid at once, each naming its path, before anything runs. */
export function validateGrid(raw: unknown): ExperimentGrid {
  const problems: InputError[] = [];
  const g = (typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
  if (g !== raw) problems.push(new InputError('grid', 'must be a mapping'));
  for (const key of Object.keys(g)) if (!['name', 'base', 'axes', 'seeds'].includes(key)) problems.push(new InputError(key, 'unknown key (known: name, base, axes, seeds)'));
  const name = typeof g.name === 'string' && /^[a-z0-9][a-z0-9-]{0,40}$/.test(g.name) ? g.name : '';
  if (!name) problems.push(new InputError('name', 'is required: lower-case letters, digits and dashes, at most 41'));
  const axesRaw = (g.axes ?? {}) as Record<string, unknown>;
  if (typeof axesRaw !== 'object' || Array.isArray(axesRaw)) problems.push(new InputError('axes', 'must be a mapping of axis to a list of values'));
  for (const key of Object.keys(axesRaw)) if (!(GRID_AXES as readonly string[]).includes(key)) problems.push(new InputError(`axes.${key}`, `unknown axis (known: ${GRID_AXES.join(', ')})`));
  const list = <T>(axis: GridAxis, ok: (v: unknown) => v is T, what: string): T[] => {
    const v = axesRaw[axis] ?? DEFAULT_AXES[axis];
    if (!Array.isArray(v) || v.length === 0) { problems.push(new InputError(`axes.${axis}`, 'must be a non-empty list')); return []; }
    v.forEach((x, i) => { if (!ok(x)) problems.push(new InputError(`axes.${axis}[${i}]`, `${JSON.stringify(x)} is not ${what}`)); });
    return v.filter(ok);
  };
  const axes = {
    labeled_fraction: list('labeled_fraction', (v): v is number => typeof v === 'number' && v > 0 && v <= 1, 'a fraction in (0, 1]'),
    augment: list('augment', (v): v is string => typeof v === 'string' && AUGMENTS.includes(v), `one of ${AUGMENTS.join(', ')}`),
    init: list('init', (v): v is string => typeof v === 'string' && (v === 'random' || /^checkpoint:[^\s]+\/model\.json$/.test(v)), 'random or checkpoint:KEY/model.json'),
    self_training: list('self_training', (v): v is boolean => typeof v === 'boolean', 'true or false'),
  };
  const seeds = Array.isArray(g.seeds ?? [0]) ? ((g.seeds ?? [0]) as unknown[]) : [];
  seeds.forEach((s, i) => { if (!Number.isInteger(s) || (s as number) < 0) problems.push(new InputError(`seeds[${i}]`, `${JSON.stringify(s)} is not a non-negative integer`)); });
  if (!Array.isArray(g.seeds ?? [0]) || seeds.length === 0) problems.push(new InputError('seeds', 'must be a non-empty list of integers'));
  const base = (g.base ?? {}) as Record<string, unknown>;
  try {
    validateSpec({ ...base, name: name || 'x' }, 'base');
  } catch (err) {
    if (err instanceof InputErrors) problems.push(...err.problems.map((p) => new InputError(`base.${p.field}`, p.message.replace(/^\S+: /, ''))));
    else throw err;
  }
  if (problems.length) throw new GridError(problems);
  return { name, base, axes, seeds: seeds as number[] };
}

export function loadGridFile(file: string): ExperimentGrid {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(file, `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return validateGrid(parseYaml(text));
}

/**
 * One run per (fraction, augment, init, seed): its teacher gives the supervised-only row, its student the
 * self-training row, so the two rows of a cell share one teacher. Run names encode the cell.
 */
export function expandGrid(grid: ExperimentGrid): GridCell[] {
  const cells: GridCell[] = [];
  const baseSpec = validateSpec({ ...grid.base, name: grid.name });
  for (const seed of grid.seeds) for (const fraction of grid.axes.labeled_fraction) for (const augment of grid.axes.augment) for (const init of grid.axes.init) {
    const labels = Math.max(1, Math.round(baseSpec.dataset.labels_per_class * fraction));
    const initKey = init === 'random' ? '' : init.slice('checkpoint:'.length);
    const initTag = init === 'random' ? 'rand' : `pre${shortHash(initKey)}`;
    const raw = {
      ...grid.base,
      name: `${grid.name}-f${Math.round(fraction * 100)}-${augment}-${initTag}-s${seed}`,
      dataset: { ...baseSpec.dataset, labels_per_class: labels, seed, prefix: `${baseSpec.dataset.prefix}-l${labels}-s${seed}` },
      teacher: { ...baseSpec.teacher, augment, seed, init_checkpoint: initKey },
      // The paper initialises the student from the same checkpoint as its teacher.
      student: { ...baseSpec.student, augment, seed, init_checkpoint: initKey },
    };
    cells.push({ fraction, augment, init, seed, selfTraining: grid.axes.self_training.includes(true), spec: validateSpec(raw) });
  }
  return cells;
}

function shortHash(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h.toString(36).slice(0, 6);
}
