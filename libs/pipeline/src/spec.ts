import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { InputError, InputErrors } from '@selftrain/errors';
import { TEACHER_DEFAULTS, type ResolvedTrainOptions } from '@selftrain/train';
import { STUDENT_DEFAULTS } from '@selftrain/trainer';

/**
 * The run spec (YAML or JSON). Every key is declared here with its type and default; an unknown key or
 * a wrong type is an error naming its path (`teacher.max_steps`), and the CLI exits 2.
 */
export type Field =
  | { kind: 'number'; default: number; min?: number; max?: number; integer?: boolean }
  | { kind: 'string'; default: string; choices?: string[] }
  | { kind: 'boolean'; default: boolean }
  | { kind: 'strings'; default: string[] }
  | { kind: 'section'; fields: Record<string, Field> };

export const int = (d: number, min = 0, max = Number.MAX_SAFE_INTEGER): Field => ({ kind: 'number', default: d, min, max, integer: true });
export const num = (d: number, min = 0, max = Number.MAX_VALUE): Field => ({ kind: 'number', default: d, min, max });
const str = (d: string, choices?: string[]): Field => ({ kind: 'string', default: d, choices });
const bool = (d: boolean): Field => ({ kind: 'boolean', default: d });
const AUGMENTS = ['none', 's1', 's2', 's3', 's4'];
const MODELS = ['cnn-small', 'resnet-small', 'retinanet', 'segmenter'];
export const TASKS = ['classification', 'detection', 'segmentation'] as const;
export type SpecTask = (typeof TASKS)[number];

/** The scene datasets detection and segmentation runs ingest (Fashion-MNIST items pasted on a canvas). */
const SCENE_FIELDS: Record<string, Field> = {
  labeled: int(200, 1), unlabeled: int(5000, 1), val: int(200, 1), test: int(1000, 1), canvas: int(96, 32, 512),
  min_items: int(1, 1, 20), max_items: int(6, 1, 20),
};
export const SCENE_DEFAULTS = Object.fromEntries(Object.entries(SCENE_FIELDS).map(([k, f]) => [k, (f as { default: number }).default]));

/**
 * What a detection or segmentation run gets where its spec is silent (the classification defaults are
 * tuned for 28x28 classifiers): the task's model, smaller batches, a learning rate the detector's focal
 * loss stays finite with, and no class balancing or soft labels (classification's).
 * Detection, measured on the scenes with one 16.40 AP teacher (README): its boxes at score >= 0.5 are 0.74
 * per image against ~3.5 human ones, and the student fell to 10.69; at 0.4, images without a box dropped,
 * 2.73 per image. The student learns them under FlipCrop (S1: 16.74, +0.33), not under AutoAugment
 * (S2: 14.17) nor without augmentation (14.07). Soft-NMS boxes gave 17.66, and 4,500 student steps 19.46
 * (+3.06, also in a whole default loop).
 */
const TASK_DEFAULTS: Record<Exclude<SpecTask, 'classification'>, { teacher: Record<string, unknown>; student: Record<string, unknown>; labeling?: Record<string, unknown> }> = {
  detection: {
    teacher: { model: 'retinanet', width: 0.5, batch_size: 16, learning_rate: 0.01, max_steps: 3000, eval_every: 500, checkpoint_every: 500, warmup_steps: 100, dropout: 0 },
    student: { model: 'retinanet', width: 0.5, batch_size: 16, learning_rate: 0.01, max_steps: 4500, eval_every: 500, checkpoint_every: 500, warmup_steps: 100, dropout: 0, augment: 's1' },
    labeling: { threshold: 0.4, drop_empty_images: true, soft_nms: true },
  },
  segmentation: {
    // Teacher and student weigh pixels by class (pixel_class_balance; see segmentationCrossEntropy), so the
    // student's gain is self-training's, not a different loss's.
    teacher: { model: 'segmenter', width: 0.5, batch_size: 8, learning_rate: 0.05, max_steps: 3000, eval_every: 500, checkpoint_every: 500, warmup_steps: 100, dropout: 0, pixel_class_balance: 0.5 },
    // The student under S1 as for detection: 34.06 -> 36.79 mIoU (+2.73), against 32.59 (-1.47) under S2.
    student: { model: 'segmenter', width: 0.5, batch_size: 8, learning_rate: 0.05, max_steps: 3000, eval_every: 500, checkpoint_every: 500, warmup_steps: 100, dropout: 0, pixel_class_balance: 0.5, augment: 's1' },
  },
};
const CLASSIFIERS = ['cnn-small', 'resnet-small'];
const TASK_MODEL: Record<SpecTask, string[]> = { classification: CLASSIFIERS, detection: ['retinanet'], segmentation: ['segmenter'] };

// Defaults come from the services' own (one place for each number); the spec adds types and ranges.
export const trainFields = (d: ResolvedTrainOptions) => ({
  model: str(d.model, MODELS), width: num(d.width, 0.125, 8), batch_size: int(d.batchSize, 2, 4096), max_steps: int(d.maxSteps, 1),
  learning_rate: num(d.learningRate, 1e-7, 10), momentum: num(d.momentum, 0, 0.999), weight_decay: num(d.weightDecay, 0, 0.1),
  warmup_steps: int(d.warmupSteps), checkpoint_every: int(d.checkpointEvery, 1), eval_every: int(d.evalEvery, 1),
  patience: int(d.patience), augment: str(d.augment, AUGMENTS), dropout: num(d.dropout, 0, 0.95),
  stochastic_depth: num(d.stochasticDepth, 0, 0.95), seed: int(d.seed, 0, 2 ** 31 - 1),
  randaugment_n: int(d.randAugmentN, 1, 6), randaugment_m: int(d.randAugmentM, 1, 10), label_smoothing: num(d.labelSmoothing, 0, 0.5),
  pixel_class_balance: num(d.pixelClassBalance, 0, 1),
  // A model.json key in the bucket (e.g. pretrained on another label space); '' = random init.
  init_checkpoint: str(''),
  // Joint training: a dataset prefix whose labeled split trains an auxiliary head alongside ('' = off).
  auxiliary_dataset: str(''), auxiliary_weight: num(d.auxiliaryWeight, 0.01, 100),
});

export const SPEC_SCHEMA: Record<string, Field> = {
  name: str('fashion-mnist-default'),
  // Classification runs on Fashion-MNIST itself; detection and segmentation on its scenes.
  task: str('classification', [...TASKS]),
  // Noisy Student iterates: the student of generation g teaches generation g+1. Two by default for
  // classification (docs/tuning-fashion-mnist.md); dense tasks default to one (see applyTaskDefaults).
  generations: int(2, 1, 10),
  dataset: { kind: 'section', fields: {
    // bucket: a dataset already at `prefix` (selftrain ingest coco|voc|fashion-mnist), used as it is.
    source: str('fashion-mnist', ['fashion-mnist', 'bucket']), source_dir: str(''), prefix: str('datasets/fashion-mnist'),
    labels_per_class: int(100, 1), val_per_class: int(50, 1), seed: int(0), shard_size: int(2048, 16),
    limit_train: int(0), limit_test: int(0),
    scenes: { kind: 'section', fields: SCENE_FIELDS },
  } },
  teacher: { kind: 'section', fields: trainFields(TEACHER_DEFAULTS) },
  labeling: { kind: 'section', fields: {
    threshold: num(0.5, 0, 1), soft: bool(false), temperature: num(1, 0.05, 20), balance: bool(true),
    per_class_cap: int(0), balance_min_confidence: num(0.3, 0, 1), concurrency: int(2, 1, 64), min_kept_fraction: num(0.01, 0, 1),
    // Detection: Gaussian Soft-NMS (sigma 0.3) instead of NMS; drop images with no kept box.
    soft_nms: bool(false), drop_empty_images: bool(false),
  } },
  student: { kind: 'section', fields: {
    ...trainFields(STUDENT_DEFAULTS),
    alpha: num(1, 1e-3, 100), pseudo_fraction: num(0.5, 0.05, 0.95), loss_normalization: bool(true),
  } },
  services: { kind: 'section', fields: {
    // Empty: start the four services locally as processes (with `local.labelers` labelers).
    teacher: str(''), student: str(''), evaluator: str(''), labelers: { kind: 'strings', default: [] },
  } },
  local: { kind: 'section', fields: { labelers: int(2, 1, 16) } },
};

export interface TrainSpec {
  model: string; width: number; batch_size: number; max_steps: number; learning_rate: number; momentum: number;
  weight_decay: number; warmup_steps: number; checkpoint_every: number; eval_every: number; patience: number;
  augment: string; dropout: number; stochastic_depth: number; seed: number; randaugment_n: number; randaugment_m: number;
  label_smoothing: number; pixel_class_balance: number; init_checkpoint: string; auxiliary_dataset: string; auxiliary_weight: number;
}

/** The completed spec; its shape is SPEC_SCHEMA's (kept side by side: one declares, one types). */
export interface SceneSpec { labeled: number; unlabeled: number; val: number; test: number; canvas: number; min_items: number; max_items: number }

export interface RunSpec {
  name: string;
  task: SpecTask;
  generations: number;
  dataset: { source: string; source_dir: string; prefix: string; labels_per_class: number; val_per_class: number; seed: number; shard_size: number; limit_train: number; limit_test: number; scenes: SceneSpec };
  teacher: TrainSpec;
  labeling: { threshold: number; soft: boolean; temperature: number; balance: boolean; per_class_cap: number; balance_min_confidence: number; concurrency: number; min_kept_fraction: number; soft_nms: boolean; drop_empty_images: boolean };
  student: TrainSpec & { alpha: number; pseudo_fraction: number; loss_normalization: boolean };
  services: { teacher: string; student: string; evaluator: string; labelers: string[] };
  local: { labelers: number };
}

type Spec = Record<string, unknown>;

export class SpecError extends InputErrors {}

/** Validates and completes a spec object with defaults; throws SpecError listing every problem. */
export function validateSpec(raw: unknown, where = 'spec'): RunSpec {
  const problems: InputError[] = [];
  const out = walk(raw ?? {}, SPEC_SCHEMA, '', problems, where) as unknown as RunSpec;
  if (!problems.length) applyTaskDefaults((raw ?? {}) as Spec, out, problems);
  if (problems.length) throw new SpecError(problems);
  return out;
}

/** Task defaults where the raw spec is silent, and the cross-field rules of each task. */
function applyTaskDefaults(raw: Spec, out: RunSpec, problems: InputError[]): void {
  const section = (name: string) => (raw[name] ?? {}) as Spec;
  if (out.task !== 'classification') {
    const d = TASK_DEFAULTS[out.task];
    // One generation: the scene teachers are weak and each generation costs ~10 minutes of training here.
    if (raw.generations === undefined) out.generations = 1;
    if (section('dataset').prefix === undefined) out.dataset.prefix = `datasets/fashion-mnist-scenes-${out.task}`;
    for (const role of ['teacher', 'student', 'labeling'] as const) {
      for (const [k, v] of Object.entries(d[role] ?? {})) if (section(role)[k] === undefined) (out[role] as unknown as Spec)[k] = v;
    }
    for (const k of ['balance', 'soft'] as const) {
      if (section('labeling')[k] === true) problems.push(new InputError(`labeling.${k}`, `is for classification; a ${out.task} run labels with boxes or masks`));
      out.labeling[k] = false;
    }
  }
  for (const role of ['teacher', 'student'] as const) {
    if (!TASK_MODEL[out.task].includes(out[role].model)) problems.push(new InputError(`${role}.model`, `${out[role].model} does not do ${out.task}; choose ${TASK_MODEL[out.task].join(' or ')}`));
  }
  if (out.dataset.scenes.max_items < out.dataset.scenes.min_items) problems.push(new InputError('dataset.scenes.max_items', `${out.dataset.scenes.max_items} is below min_items ${out.dataset.scenes.min_items}`));
}

/** Checks `raw` against a schema section, defaults filled in; problems are pushed, each naming its path. */
export function validateFields(raw: unknown, fields: Record<string, Field>, path: string, problems: InputError[]): Record<string, unknown> {
  return walk(raw ?? {}, fields, path, problems, path.replace(/\.$/, '') || 'spec');
}

function walk(value: unknown, fields: Record<string, Field>, path: string, problems: InputError[], where: string): Spec {
  const out: Spec = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(new InputError(path || where, `must be a mapping, got ${describe(value)}`));
    value = {};
  }
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!(key in fields)) problems.push(new InputError(`${path}${key}`, `unknown key (known: ${Object.keys(fields).join(', ')})`));
  }
  for (const [key, field] of Object.entries(fields)) {
    const at = `${path}${key}`;
    const v = obj[key];
    if (field.kind === 'section') { out[key] = walk(v ?? {}, field.fields, `${at}.`, problems, where); continue; }
    if (v === undefined || v === null) { out[key] = field.default; continue; }
    switch (field.kind) {
      case 'number':
        if (typeof v !== 'number' || !Number.isFinite(v)) problems.push(new InputError(at, `must be a number, got ${describe(v)}`));
        else if (field.integer && !Number.isInteger(v)) problems.push(new InputError(at, `must be an integer, got ${v}`));
        else if ((field.min !== undefined && v < field.min) || (field.max !== undefined && v > field.max)) problems.push(new InputError(at, `must be in [${field.min}, ${field.max}], got ${v}`));
        break;
      case 'string':
        if (typeof v !== 'string') problems.push(new InputError(at, `must be a string, got ${describe(v)}`));
        else if (field.choices && !field.choices.includes(v)) problems.push(new InputError(at, `must be one of ${field.choices.join(', ')}, got ${JSON.stringify(v)}`));
        break;
      case 'boolean':
        if (typeof v !== 'boolean') problems.push(new InputError(at, `must be true or false, got ${describe(v)}`));
        break;
      case 'strings':
        if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) problems.push(new InputError(at, `must be a list of strings, got ${describe(v)}`));
        break;
    }
    out[key] = v;
  }
  return out;
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  return typeof v === 'string' ? `the string ${JSON.stringify(v.slice(0, 40))}` : `${typeof v} ${JSON.stringify(v)}`;
}

export function loadSpecFile(path: string | undefined): RunSpec {
  if (!path) return validateSpec({});
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SpecError([new InputError(path, `cannot read: ${(err as Error).message}`)]);
  }
  let raw: unknown;
  try {
    raw = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new SpecError([new InputError(path, `is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`)]);
  }
  return validateSpec(raw, path);
}
