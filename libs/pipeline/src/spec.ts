import { existsSync, readFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { DEFAULT_CLASSIFICATION_FIT, FIT_POLICIES } from '@selftrain/data';
import { parse as parseYaml } from 'yaml';
import { InputError, InputErrors } from '@selftrain/errors';
import {
  checkClassNames, checkOutputKindForTask, checkPreprocess, TEACHER_CHANNEL_ORDERS, TEACHER_LAYOUTS, TEACHER_MODEL_TASKS, TEACHER_OUTPUT_KINDS, TEACHER_SOURCES,
} from '@selftrain/export';
import {
  defaultFor, LABELING_OPTIONS, modelsFor, RUN_TRAIN_OPTION_NAMES, STUDENT_OPTIONS, TASKS, TRAIN_OPTIONS,
  type Input, type Option, type Role, type Task,
} from '@selftrain/options';

/**
 * The run spec (YAML or JSON). Every key is declared here with its type and default; an unknown key or
 * a wrong type is an error naming its path (`teacher.max_steps`), and the CLI exits 2.
 */
export type Field =
  | { kind: 'number'; default: number; min?: number; max?: number; integer?: boolean }
  | { kind: 'string'; default: string; choices?: string[] }
  | { kind: 'boolean'; default: boolean }
  | { kind: 'strings'; default: string[] }
  | { kind: 'numbers'; default: number[] }
  | { kind: 'section'; fields: Record<string, Field> };

export const int = (d: number, min = 0, max = Number.MAX_SAFE_INTEGER): Field => ({ kind: 'number', default: d, min, max, integer: true });
export const num = (d: number, min = 0, max = Number.MAX_VALUE): Field => ({ kind: 'number', default: d, min, max });
const str = (d: string, choices?: string[]): Field => ({ kind: 'string', default: d, choices });
const bool = (d: boolean): Field => ({ kind: 'boolean', default: d });
export { TASKS };
export type SpecTask = Task;

/**
 * teacher.source onnx or tfjs: a user's model (e.g. a PyTorch model exported with torch.onnx.export, or a
 * stock TF.js LayersModel or GraphModel) as generation 0's teacher, in place of a trained zoo model. `model`
 * is then the ONNX file (relative to the spec file, or s3://BUCKET/KEY in the run's bucket) or the TF.js
 * model.json or its folder (a path, s3://BUCKET/KEY or http(s) URL, as init_checkpoint takes); the rest say
 * how its input is made and what its output is (README, "Models in and out"; the gRPC TeacherModel carries
 * the same). preprocess.layout defaults to NCHW for onnx (PyTorch's) and NHWC for tfjs (TF.js's).
 */
export const TEACHER_MODEL_FIELDS: Record<string, Field> = {
  source: str('zoo', ['zoo', ...TEACHER_SOURCES]),
  preprocess: { kind: 'section', fields: {
    // '' = the graph's only input; size 0 = the dataset's image size (a square side otherwise).
    input: str(''), layout: str('NCHW', [...TEACHER_LAYOUTS]), size: int(0, 0, 4096), channel_order: str('RGB', [...TEACHER_CHANNEL_ORDERS]),
    scale: num(1 / 255, Number.MIN_VALUE), mean: { kind: 'numbers', default: [] }, std: { kind: 'numbers', default: [] },
  } },
  output: { kind: 'section', fields: { kind: str('logits', [...TEACHER_OUTPUT_KINDS]), name: str('') } },
  class_names: { kind: 'strings', default: [] },
};
const fieldDefaults = (fields: Record<string, Field>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.kind === 'section' ? fieldDefaults(f.fields) : f.default]));
/** The teacher-model keys at their defaults (a zoo teacher): specDigest leaves them out, so older runs still match. */
export const TEACHER_MODEL_DEFAULTS = fieldDefaults(TEACHER_MODEL_FIELDS);

/** The scene datasets detection and segmentation runs ingest (Fashion-MNIST items pasted on a canvas). */
const SCENE_FIELDS: Record<string, Field> = {
  labeled: int(200, 1), unlabeled: int(5000, 1), val: int(200, 1), test: int(1000, 1), canvas: int(96, 32, 512),
  min_items: int(1, 1, 20), max_items: int(6, 1, 20),
};
export const SCENE_DEFAULTS = Object.fromEntries(Object.entries(SCENE_FIELDS).map(([k, f]) => [k, (f as { default: number }).default]));

/** A declared option as a spec field, with its default in one context (libs/options declares them all). */
export function optionField(o: Option, task: Task = 'classification', role: Role = 'teacher', input?: Input): Field {
  switch (o.type) {
    case 'number': return { kind: 'number', default: defaultFor(o, task, role, input), min: o.min, max: o.max, integer: o.integer };
    case 'choice': return str(defaultFor(o, task, role, input), [...o.choices]);
    case 'text': return str(defaultFor(o, task, role, input));
    case 'boolean': return bool(defaultFor(o, task, role, input));
  }
}

/** A section of declared options, by spec key. */
export function optionFields(options: Record<string, Option>, task: Task = 'classification', role: Role = 'teacher', input?: Input): Record<string, Field> {
  return Object.fromEntries(Object.values(options).filter((o) => o.spec !== undefined).map((o) => [o.spec as string, optionField(o, task, role, input)]));
}

/** The teacher's or student's training options (TrainOptions) as a spec section. */
export const trainFields = (role: Role, task: Task = 'classification', input?: Input): Record<string, Field> =>
  optionFields(Object.fromEntries(RUN_TRAIN_OPTION_NAMES.map((k) => [k, TRAIN_OPTIONS[k]])), task, role, input);

/** What each section of the spec holds: its options, and the context their defaults depend on. */
const OPTION_SECTIONS = {
  teacher: (task: Task, input?: Input) => trainFields('teacher', task, input),
  student: (task: Task, input?: Input) => ({ ...trainFields('student', task, input), ...optionFields(STUDENT_OPTIONS, task, 'student', input) }),
  labeling: (task: Task, input?: Input) => optionFields(LABELING_OPTIONS, task, 'teacher', input),
};

/** dataset.source: images — a user's own photos (ImageFolder trees), ingested on the first run, reused after. */
const IMAGE_FIELDS: Record<string, Field> = {
  // Directories (relative to the spec file, or absolute); unlabeled entries may also be s3://BUCKET/PREFIX.
  labeled: str(''), unlabeled: { kind: 'strings', default: [] }, test: str(''),
  // 0: the labeled images' own size (they must share one). Images of another size are fitted by `resize`.
  image_size: int(0, 0, 1024), resize: str(DEFAULT_CLASSIFICATION_FIT, [...FIT_POLICIES]), skip_bad: bool(false),
};

export const SPEC_SCHEMA: Record<string, Field> = {
  name: str('fashion-mnist-default'),
  // Classification runs on Fashion-MNIST itself; detection and segmentation on its scenes.
  task: str('classification', [...TASKS]),
  // Noisy Student iterates: the student of generation g teaches generation g+1. Two by default for
  // classification (docs/tuning-fashion-mnist.md); dense tasks default to one (see applyTaskDefaults).
  generations: int(2, 1, 10),
  dataset: { kind: 'section', fields: {
    // bucket: a dataset already at `prefix` (selftrain ingest coco|voc|fashion-mnist|images), used as it is.
    // images: the folders below, ingested on the first run (prefix: a digest of the files and options).
    source: str('fashion-mnist', ['fashion-mnist', 'bucket', 'images']), source_dir: str(''), prefix: str('datasets/fashion-mnist'),
    // 0: ingest's own default, for dataset.source images only (every labeled image; its validation share).
    labels_per_class: int(100, 0), val_per_class: int(50, 0), seed: int(0), shard_size: int(2048, 16),
    limit_train: int(0), limit_test: int(0),
    scenes: { kind: 'section', fields: SCENE_FIELDS },
    ...IMAGE_FIELDS,
  } },
  teacher: { kind: 'section', fields: { ...OPTION_SECTIONS.teacher('classification'), ...TEACHER_MODEL_FIELDS } },
  labeling: { kind: 'section', fields: OPTION_SECTIONS.labeling('classification') },
  student: { kind: 'section', fields: OPTION_SECTIONS.student('classification') },
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

/**
 * dataset.source: images. labels_per_class and val_per_class are 0 and prefix '' where the spec is silent:
 * ingest's own defaults (every labeled image; 50 per class for validation, at most a tenth of the smallest
 * class; a prefix that digests the files and options).
 */
export interface ImageFoldersSpec { labeled: string; unlabeled: string[]; test: string; image_size: number; resize: string; skip_bad: boolean }

/** teacher.source onnx or tfjs: the model and its contract (TEACHER_MODEL_FIELDS). */
export interface TeacherModelSpec {
  source: string;
  preprocess: { input: string; layout: string; size: number; channel_order: string; scale: number; mean: number[]; std: number[] };
  output: { kind: string; name: string };
  class_names: string[];
}

export interface RunSpec {
  name: string;
  task: SpecTask;
  generations: number;
  dataset: { source: string; source_dir: string; prefix: string; labels_per_class: number; val_per_class: number; seed: number; shard_size: number; limit_train: number; limit_test: number; scenes: SceneSpec } & ImageFoldersSpec;
  /** With teacher.source onnx or tfjs, `model` is the user's model (a path resolved against the spec file, s3://, or for tfjs a URL). */
  teacher: TrainSpec & TeacherModelSpec;
  labeling: { threshold: number; soft: boolean; temperature: number; balance: boolean; per_class_cap: number; balance_min_confidence: number; concurrency: number; min_kept_fraction: number; soft_nms: boolean; drop_empty_images: boolean };
  student: TrainSpec & { alpha: number; pseudo_fraction: number; loss_normalization: boolean; init_from_teacher: boolean };
  services: { teacher: string; student: string; evaluator: string; labelers: string[] };
  local: { labelers: number };
}

type Spec = Record<string, unknown>;

export class SpecError extends InputErrors {}

/**
 * Validates and completes a spec object with defaults; throws SpecError listing every problem. `input` is
 * what a `dataset.source: bucket` dataset holds (datasetInput of its manifest): a classification dataset of
 * photos takes the photos defaults, as `source: images` does.
 */
export function validateSpec(raw: unknown, where = 'spec', input?: Input): RunSpec {
  const problems: InputError[] = [];
  // A user's model file is no zoo model name: its `model` is checked apart from the zoo's choices.
  const teacherRaw = (raw as Spec | null)?.teacher as Spec | undefined;
  const external = typeof teacherRaw === 'object' && teacherRaw !== null && teacherRaw.source !== undefined && teacherRaw.source !== 'zoo';
  const walked = external ? { ...(raw as Spec), teacher: { ...teacherRaw, model: undefined } } : raw;
  const out = walk(walked ?? {}, SPEC_SCHEMA, '', problems, where) as unknown as RunSpec;
  if (external) out.teacher.model = teacherRaw.model as string;
  if (!problems.length) applyTeacherModelRules((raw ?? {}) as Spec, out, problems);
  if (!problems.length) applyTaskDefaults((raw ?? {}) as Spec, out, problems, input);
  if (problems.length) throw new SpecError(problems);
  return out;
}

/**
 * teacher.source onnx: the file, a contract that makes sense (the same rules the labeler applies to its
 * request), no training keys (nothing trains this teacher); teacher.source zoo: no contract keys.
 */
function applyTeacherModelRules(raw: Spec, out: RunSpec, problems: InputError[]): void {
  const given = (raw.teacher ?? {}) as Spec;
  const t = out.teacher;
  if (t.source === 'zoo') {
    for (const k of ['preprocess', 'output', 'class_names']) {
      if (given[k] !== undefined && JSON.stringify(t[k as keyof TeacherModelSpec]) !== JSON.stringify(TEACHER_MODEL_DEFAULTS[k])) problems.push(new InputError(`teacher.${k}`, `is for a user's model (teacher.source ${TEACHER_SOURCES.join(' or ')}); teacher.source is zoo`));
    }
    return;
  }
  if (!(TEACHER_MODEL_TASKS as readonly string[]).includes(out.task)) problems.push(new InputError('teacher.source', `a ${t.source} teacher labels ${TEACHER_MODEL_TASKS.join(', ')} datasets; task is ${out.task}`));
  else attemptCheck(problems, () => checkOutputKindForTask(t.output.kind, out.task, 'teacher.output.kind'));
  if (typeof t.model !== 'string' || !t.model) problems.push(new InputError('teacher.model', `is required with teacher.source ${t.source}: the model (a path relative to the spec file, or s3://BUCKET/KEY${t.source === 'tfjs' ? ', or an http(s) URL of model.json' : ''})`));
  const trainDefaults = trainFields('teacher', out.task);
  for (const [k, f] of Object.entries(trainDefaults)) {
    if (k === 'model' || f.kind === 'section') continue;
    if (given[k] !== undefined && JSON.stringify(given[k]) !== JSON.stringify(f.default)) problems.push(new InputError(`teacher.${k}`, `trains a zoo teacher; teacher.source is ${t.source} (nothing trains it)`));
  }
  const p = t.preprocess;
  if (t.source === 'tfjs' && ((given.preprocess ?? {}) as Spec).layout === undefined) p.layout = 'NHWC';
  attemptCheck(problems, () => checkPreprocess({ ...p, height: p.size || 1, width: p.size || 1, channelOrder: p.channel_order }, 'teacher.preprocess'));
  attemptCheck(problems, () => checkClassNames(t.class_names, 'teacher.class_names'));
}

function attemptCheck(problems: InputError[], check: () => void): void {
  try { check(); } catch (err) { if (err instanceof InputError) problems.push(err); else throw err; }
}

/** Task defaults where the raw spec is silent, and the cross-field rules of each task. */
function applyTaskDefaults(raw: Spec, out: RunSpec, problems: InputError[], input?: Input): void {
  const section = (name: string) => (raw[name] ?? {}) as Spec;
  if (out.task !== 'classification') {
    // One generation: the scene teachers are weak and each generation costs ~10 minutes of training here.
    if (raw.generations === undefined) out.generations = 1;
    if (section('dataset').prefix === undefined) out.dataset.prefix = `datasets/fashion-mnist-scenes-${out.task}`;
    for (const name of ['teacher', 'student', 'labeling'] as const) {
      for (const [k, f] of Object.entries(OPTION_SECTIONS[name](out.task))) {
        if (section(name)[k] === undefined && f.kind !== 'section') (out[name] as unknown as Spec)[k] = f.default;
      }
    }
    for (const k of ['balance', 'soft'] as const) {
      if (section('labeling')[k] === true) problems.push(new InputError(`labeling.${k}`, `is for classification; a ${out.task} run labels with boxes or masks`));
      out.labeling[k] = false;
    }
  }
  for (const role of ['teacher', 'student'] as const) {
    if (role === 'teacher' && out.teacher.source !== 'zoo') continue;
    const fit: string[] = modelsFor(out.task);
    if (!fit.includes(out[role].model)) problems.push(new InputError(`${role}.model`, `${out[role].model} does not do ${out.task}; choose ${fit.join(' or ')}`));
  }
  if (out.dataset.source === 'images') applyImageDefaults(raw, out, problems);
  else {
    if (out.dataset.source === 'bucket' && out.task === 'classification' && input === 'photos') applyPhotosDefaults(raw, out);
    for (const k of ['labels_per_class', 'val_per_class'] as const) {
      if (out.dataset[k] < 1) problems.push(new InputError(`dataset.${k}`, `must be at least 1 for dataset.source ${out.dataset.source}, got ${out.dataset[k]}`));
    }
    // A completed spec (a grid's cells, a resumed run) carries the defaults: only a set folder or option is refused.
    for (const [k, f] of Object.entries(IMAGE_FIELDS)) {
      const v = section('dataset')[k];
      if (v !== undefined && f.kind !== 'section' && JSON.stringify(v) !== JSON.stringify(f.default)) problems.push(new InputError(`dataset.${k}`, `is for dataset.source images (the source is ${out.dataset.source})`));
    }
  }
  if (out.dataset.scenes.max_items < out.dataset.scenes.min_items) problems.push(new InputError('dataset.scenes.max_items', `${out.dataset.scenes.max_items} is below min_items ${out.dataset.scenes.min_items}`));
  applyStudentInitRules(section('student'), out, problems);
}

/**
 * student.init_from_teacher needs a teacher checkpoint the student can load. Where it cannot, a default
 * gives way (the student starts as it would without it) and a value the spec sets is an error.
 */
function applyStudentInitRules(given: Spec, out: RunSpec, problems: InputError[]): void {
  const { teacher: t, student: st } = out;
  if (!st.init_from_teacher) return;
  const why = st.init_checkpoint ? 'student.init_checkpoint already names where the student starts'
    : t.source !== 'zoo' ? `the teacher is a user's ${t.source} model, not a checkpoint of student.model`
    : t.model !== st.model || t.width !== st.width ? `the student loads the teacher's weights only with its model and width (teacher ${t.model} width ${t.width}, student ${st.model} width ${st.width})`
    : undefined;
  if (!why) return;
  if (given.init_from_teacher === true) problems.push(new InputError('student.init_from_teacher', `${why}: set init_from_teacher: false`));
  st.init_from_teacher = false;
}

/**
 * dataset.source: images. The folders are required where the loop needs them; the teacher, student and
 * labeling take the photos defaults (libs/options, `photos`) where the spec is silent, and one generation
 * (each costs a teacher's worth of training on real images).
 */
function applyImageDefaults(raw: Spec, out: RunSpec, problems: InputError[]): void {
  const section = (name: string) => (raw[name] ?? {}) as Spec;
  const d = out.dataset;
  const given = section('dataset');
  if (out.task !== 'classification') problems.push(new InputError('dataset.source', `images is a classification source (one folder per class); task is ${out.task}`));
  if (!d.labeled) problems.push(new InputError('dataset.labeled', 'is required with dataset.source images: a folder with one subfolder of images per class'));
  if (!d.test) problems.push(new InputError('dataset.test', 'is required with dataset.source images: a folder with one subfolder per class, scored after each generation'));
  if (!d.unlabeled.length && given.labels_per_class === undefined) {
    problems.push(new InputError('dataset.unlabeled', 'is required with dataset.source images unless labels_per_class sends the rest of the labeled folder there'));
  }
  if (given.labels_per_class === undefined) d.labels_per_class = 0;
  if (given.val_per_class === undefined) d.val_per_class = 0;
  if (given.prefix === undefined) d.prefix = '';
  applyPhotosDefaults(raw, out);
}

/** A classifier of photos: the photos defaults (libs/options) where the spec is silent, and one generation. */
function applyPhotosDefaults(raw: Spec, out: RunSpec): void {
  const section = (name: string) => (raw[name] ?? {}) as Spec;
  if (raw.generations === undefined) out.generations = 1;
  for (const name of ['teacher', 'student', 'labeling'] as const) {
    for (const [k, f] of Object.entries(OPTION_SECTIONS[name](out.task, 'photos'))) {
      if (section(name)[k] === undefined && f.kind !== 'section') (out[name] as unknown as Spec)[k] = f.default;
    }
  }
}

/**
 * The image folders of a spec file, relative to the file (absolute ones and s3:// prefixes as they are);
 * a folder that is not there is an error naming its field.
 */
function resolveImageFolders(spec: RunSpec, specFile: string, problems: InputError[]): void {
  if (spec.dataset.source !== 'images') return;
  const base = nodePath.dirname(nodePath.resolve(specFile));
  const resolve = (p: string, field: string) => {
    if (!p || p.startsWith('s3://')) return p;
    const abs = nodePath.resolve(base, p);
    if (!existsSync(abs)) problems.push(new InputError(field, `${abs} does not exist (paths are relative to ${specFile})`));
    return abs;
  };
  const d = spec.dataset;
  d.labeled = resolve(d.labeled, 'dataset.labeled');
  d.test = resolve(d.test, 'dataset.test');
  d.unlabeled = d.unlabeled.map((p, i) => resolve(p, `dataset.unlabeled[${i}]`));
}

/**
 * Inits given as relative paths (`./`, `../`) are relative to the spec file, like its image folders; a
 * file that is not there is an error naming its field. URLs, s3:// and bucket keys are left as they are.
 */
function resolveInitPaths(spec: RunSpec, specFile: string, problems: InputError[]): void {
  const base = nodePath.dirname(nodePath.resolve(specFile));
  for (const role of ['teacher', 'student'] as const) {
    const value = spec[role].init_checkpoint;
    if (!/^\.\.?\//.test(value) && !nodePath.isAbsolute(value)) continue;
    const abs = nodePath.resolve(base, value);
    if (!existsSync(abs)) problems.push(new InputError(`${role}.init_checkpoint`, `${abs} does not exist (paths are relative to ${specFile})`));
    spec[role].init_checkpoint = abs;
  }
}

/** teacher.source onnx or tfjs: the model file relative to the spec file (s3:// keys and tfjs URLs as they are); it must exist. */
function resolveTeacherModelFile(spec: RunSpec, specFile: string, problems: InputError[]): void {
  const t = spec.teacher;
  if (t.source === 'zoo' || t.model.startsWith('s3://') || (t.source === 'tfjs' && /^(https?|file):\/\//i.test(t.model))) return;
  t.model = nodePath.resolve(nodePath.dirname(nodePath.resolve(specFile)), t.model);
  if (!existsSync(t.model)) problems.push(new InputError('teacher.model', `${t.model} does not exist (paths are relative to ${specFile})`));
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
      case 'numbers':
        if (!Array.isArray(v) || v.some((n) => typeof n !== 'number' || !Number.isFinite(n))) problems.push(new InputError(at, `must be a list of numbers, got ${describe(v)}`));
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

/** A spec file, validated and completed (see validateSpec for `input`). */
export function loadSpecFile(path: string | undefined, input?: Input): RunSpec {
  if (!path) return validateSpec({}, 'spec', input);
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
  const spec = validateSpec(raw, path, input);
  const problems: InputError[] = [];
  resolveImageFolders(spec, path, problems);
  resolveInitPaths(spec, path, problems);
  resolveTeacherModelFile(spec, path, problems);
  if (problems.length) throw new SpecError(problems);
  return spec;
}
