import { parse as parseYaml } from 'yaml';
import { readFileSync } from 'node:fs';
import { InputError, InputErrors } from '@selftrain/errors';
import { AUGMENT_LEVELS, defaultFor, specValues, TRAIN_OPTIONS } from '@selftrain/options';
import { SIMCLR_DEFAULTS } from '@selftrain/train';
import { int, num, optionField, trainFields, validateFields, validateSpec, type Field, type RunSpec, type TrainSpec } from './spec';

/**
 * The paper's study as a grid: labeled-data fraction x augmentation strength x initialisation x
 * {supervised only, + self-training}, repeated over seeds. `init` values:
 * - `random`;
 * - `supervised`: pretrained by the grid on another labeled task, Fashion-MNIST's coarse label space
 *   (the paper's ImageNet init at this scale);
 * - `simclr`: self-supervised pretraining by the grid on the base dataset's unlabeled pool;
 * - `joint`: random init, trained jointly with the coarse-label task as an auxiliary objective
 *   (the paper's Table 7), teacher and student alike;
 * - `checkpoint:KEY`: a model.json in the bucket pretrained elsewhere.
 * Pretrained inits re-initialise the classification head.
 */
export const GRID_AXES = ['labeled_fraction', 'augment', 'init', 'self_training'] as const;
export type GridAxis = (typeof GRID_AXES)[number];

export const PRETRAINED_INITS = ['supervised', 'simclr'] as const;
export type PretrainKind = (typeof PRETRAINED_INITS)[number];
const NAMED_INITS = ['random', ...PRETRAINED_INITS, 'joint'];

/** How the grid makes its own inits; every key has a default sized for Fashion-MNIST on 2 cores. */
export interface PretrainSpec {
  /** The coarse-label dataset (supervised init, joint training's auxiliary task): images per group. */
  coarse_labels_per_class: number;
  coarse_val_per_class: number;
  supervised: PretrainTrainSpec;
  simclr: PretrainTrainSpec & { contrastive_temperature: number };
  /** Joint training's auxiliary loss weight. */
  joint_weight: number;
}

/** Model and width are the base teacher's (the init must fit the cells' encoder); no init of its own. */
export type PretrainTrainSpec = Omit<TrainSpec, 'model' | 'width' | 'init_checkpoint' | 'auxiliary_dataset' | 'auxiliary_weight'>;
/** Pretraining is shorter than a run's teacher; the rest of its defaults are the teacher's (or SimCLR's). */
const PRETRAIN_STEPS = { max_steps: 1500, eval_every: 250, checkpoint_every: 250 };
const pretrainFields = (defaults: Record<string, unknown>): Record<string, Field> => {
  const { model: _m, width: _w, init_checkpoint: _i, auxiliary_dataset: _a, auxiliary_weight: _aw, ...fields } = trainFields('teacher');
  return Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, k in defaults ? ({ ...f, default: defaults[k] } as Field) : f]));
};
const PRETRAIN_SCHEMA: Record<string, Field> = {
  coarse_labels_per_class: int(1500, 1, 5900), coarse_val_per_class: int(100, 1, 1000),
  supervised: { kind: 'section', fields: pretrainFields(PRETRAIN_STEPS) },
  simclr: { kind: 'section', fields: {
    // s2 views: at 28x28 the 0.5-2.0 scale jitter of s3/s4 often leaves two views sharing little (k-NN top-1 of
    // the encoder after 600 steps: s1 0.635, s2 0.693, s4 0.671; libs/train README).
    ...pretrainFields({ ...specValues(TRAIN_OPTIONS, SIMCLR_DEFAULTS), ...PRETRAIN_STEPS, augment: 's2' }),
    contrastive_temperature: optionField(TRAIN_OPTIONS.contrastiveTemperature),
  } },
  joint_weight: num(1, 0.01, 100),
};

export interface ExperimentGrid {
  name: string;
  /** Run-spec fields every cell starts from (teacher, student, labeling, dataset, ...). */
  base: Record<string, unknown>;
  axes: { labeled_fraction: number[]; augment: string[]; init: string[]; self_training: boolean[] };
  seeds: number[];
  pretrain: PretrainSpec;
}

/** What an init value of the grid became once its pretraining ran or its dataset exists. */
export interface ResolvedInit {
  /** Part of the cell's run name: a different pretraining is a different run. */
  tag: string;
  initCheckpoint?: string;
  auxiliaryDataset?: string;
  auxiliaryWeight?: number;
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

const AUGMENTS: readonly string[] = AUGMENT_LEVELS;
const DEFAULT_AXES = { labeled_fraction: [1], augment: [defaultFor(TRAIN_OPTIONS.augment)], init: ['random'], self_training: [false, true] };

class GridError extends InputErrors {}

/** Every problem in the grid at once, each naming its path, before anything runs. */
export function validateGrid(raw: unknown): ExperimentGrid {
  const problems: InputError[] = [];
  const g = (typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
  if (g !== raw) problems.push(new InputError('grid', 'must be a mapping'));
  for (const key of Object.keys(g)) if (!['name', 'base', 'axes', 'seeds', 'pretrain'].includes(key)) problems.push(new InputError(key, 'unknown key (known: name, base, axes, seeds, pretrain)'));
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
    init: list('init', (v): v is string => typeof v === 'string' && (NAMED_INITS.includes(v) || /^checkpoint:[^\s]+\/model\.json$/.test(v)), `${NAMED_INITS.join(', ')} or checkpoint:KEY/model.json`),
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
  const pretrain = validateFields(g.pretrain, PRETRAIN_SCHEMA, 'pretrain.', problems) as unknown as PretrainSpec;
  if (problems.length) throw new GridError(problems);
  return { name, base, axes, seeds: seeds as number[], pretrain };
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
export function expandGrid(grid: ExperimentGrid, resolved: Record<string, ResolvedInit> = {}): GridCell[] {
  const cells: GridCell[] = [];
  const baseSpec = validateSpec({ ...grid.base, name: grid.name });
  // A cell's student starts from its teacher's init, so it has the teacher's encoder unless the grid's base names its own.
  const studentBase = (grid.base.student ?? {}) as Record<string, unknown>;
  const encoder = { model: studentBase.model ?? baseSpec.teacher.model, width: studentBase.width ?? baseSpec.teacher.width };
  for (const seed of grid.seeds) for (const fraction of grid.axes.labeled_fraction) for (const augment of grid.axes.augment) for (const init of grid.axes.init) {
    const labels = Math.max(1, Math.round(baseSpec.dataset.labels_per_class * fraction));
    const r = resolveInit(init, resolved);
    const initFields = {
      init_checkpoint: r.initCheckpoint ?? '',
      ...(r.auxiliaryDataset ? { auxiliary_dataset: r.auxiliaryDataset, auxiliary_weight: r.auxiliaryWeight ?? 1 } : {}),
    };
    const raw = {
      ...grid.base,
      // The study compares one round of self-training with its supervised teacher (the paper's tables).
      generations: grid.base.generations ?? 1,
      name: `${grid.name}-f${Math.round(fraction * 100)}-${augment}-${r.tag}-s${seed}`,
      dataset: { ...baseSpec.dataset, labels_per_class: labels, seed, prefix: `${baseSpec.dataset.prefix}-l${labels}-s${seed}` },
      teacher: { ...baseSpec.teacher, augment, seed, ...initFields },
      // The paper initialises the student from the same checkpoint as its teacher (and joint training trains both jointly).
      student: { ...baseSpec.student, ...encoder, augment, seed, ...initFields },
    };
    cells.push({ fraction, augment, init, seed, selfTraining: grid.axes.self_training.includes(true), spec: validateSpec(raw) });
  }
  return cells;
}

function resolveInit(init: string, resolved: Record<string, ResolvedInit>): ResolvedInit {
  if (resolved[init]) return resolved[init];
  if (init === 'random') return { tag: 'rand' };
  if (init.startsWith('checkpoint:')) {
    const key = init.slice('checkpoint:'.length);
    return { tag: `pre${shortHash(key)}`, initCheckpoint: key };
  }
  throw new Error(`init ${init} has not been made yet (runExperiment pretrains it before expanding the grid)`);
}

export function shortHash(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h.toString(36).slice(0, 6);
}
