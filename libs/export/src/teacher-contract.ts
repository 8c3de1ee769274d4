import { createHash } from 'node:crypto';
import { InputError, requireKey } from '@selftrain/errors';
import type { TeacherModel, TeacherOutput, TeacherPreprocess } from '@selftrain/proto';

/**
 * The model formats a TeacherModel may name; the spec's teacher.source offers these beside `zoo`. onnx: one
 * file; tfjs: a stock TF.js LayersModel or GraphModel (model.json + weight files). TeacherModelCache opens each.
 */
export const TEACHER_SOURCES = ['onnx', 'tfjs'] as const;
export const TEACHER_LAYOUTS = ['NCHW', 'NHWC'] as const;
export const TEACHER_CHANNEL_ORDERS = ['RGB', 'BGR'] as const;
/**
 * What the model outputs: class logits or probabilities (classification: [N, K]; segmentation: per pixel,
 * [N, K, H, W] in layout NCHW or [N, H, W, K] in NHWC), or 'boxes' (detection: torchvision's detectors'
 * outputs `boxes` [D, 4] (x1, y1, x2, y2 in the model input's pixels), `scores` [D], `labels` [D]).
 */
export const TEACHER_OUTPUT_KINDS = ['logits', 'probabilities', 'boxes'] as const;
/** The tasks a user's model can teach, and the output kinds each reads. */
export const TEACHER_MODEL_TASKS = ['classification', 'detection', 'segmentation'] as const;
export const TEACHER_OUTPUT_KINDS_BY_TASK: Record<(typeof TEACHER_MODEL_TASKS)[number], readonly string[]> = {
  classification: ['logits', 'probabilities'],
  detection: ['boxes'],
  segmentation: ['logits', 'probabilities'],
};

/** An output kind the task cannot read is an InputError naming `field` (teacher.output.kind, teacher_model.output.kind). */
export function checkOutputKindForTask(kind: string, task: (typeof TEACHER_MODEL_TASKS)[number], field: string): void {
  const fits = TEACHER_OUTPUT_KINDS_BY_TASK[task];
  if (!fits.includes(kind)) throw new InputError(field, `is ${JSON.stringify(kind)}; a ${task} teacher's output is ${fits.join(' or ')}`);
}

/** A TeacherModel whose every field has been checked; sub-messages are present. */
export type CheckedTeacherModel = TeacherModel & { model: NonNullable<TeacherModel['model']>; preprocess: TeacherPreprocess; output: TeacherOutput };

const oneOf = (value: string, choices: readonly string[], field: string): void => {
  if (!choices.includes(value)) throw new InputError(field, `must be one of ${choices.join(', ')}, got ${JSON.stringify(value)}`);
};

/**
 * Checks a TeacherModel as a request carries it; each problem is an InputError naming its field under
 * `field` (`teacher_model.preprocess.layout`). The spec checks its own keys first with the same rules
 * (libs/pipeline spec.ts names them `teacher.*`), so a request built from a valid spec passes.
 */
export function checkTeacherModel(m: TeacherModel | undefined, field = 'teacher_model'): CheckedTeacherModel {
  if (!m) throw new InputError(field, 'is required');
  oneOf(m.source, TEACHER_SOURCES, `${field}.source`);
  if (!m.model) throw new InputError(`${field}.model`, 'is required');
  requireKey(m.model.key, `${field}.model.key`);
  if (!/^[0-9a-f]{64}$/.test(m.model.sha256)) throw new InputError(`${field}.model.sha256`, `must be 64 lowercase hex digits, got ${JSON.stringify(m.model.sha256.slice(0, 70))}`);
  const p = m.preprocess;
  if (!p) throw new InputError(`${field}.preprocess`, 'is required');
  checkPreprocess(p, `${field}.preprocess`);
  const o = m.output;
  if (!o) throw new InputError(`${field}.output`, 'is required');
  oneOf(o.kind, TEACHER_OUTPUT_KINDS, `${field}.output.kind`);
  checkClassNames(m.classNames, `${field}.class_names`);
  return m as CheckedTeacherModel;
}

/** The preprocessing rules, shared by the spec (field `teacher.preprocess`) and the requests. */
export function checkPreprocess(p: TeacherPreprocess, field: string): void {
  oneOf(p.layout, TEACHER_LAYOUTS, `${field}.layout`);
  oneOf(p.channelOrder, TEACHER_CHANNEL_ORDERS, `${field}.channel_order`);
  for (const k of ['height', 'width'] as const) {
    if (!Number.isInteger(p[k]) || p[k] < 1 || p[k] > 4096) throw new InputError(`${field}.${k}`, `must be an integer in [1, 4096], got ${p[k]}`);
  }
  if (!(p.scale > 0) || !Number.isFinite(p.scale)) throw new InputError(`${field}.scale`, `must be > 0, got ${p.scale}`);
  if (p.mean.some((v) => !Number.isFinite(v))) throw new InputError(`${field}.mean`, 'must be finite numbers');
  if (p.std.some((v) => !(v > 0) || !Number.isFinite(v))) throw new InputError(`${field}.std`, `every value must be > 0, got [${p.std.join(', ')}]`);
  if (p.mean.length > 0 && p.std.length > 0 && p.mean.length !== p.std.length && p.mean.length !== 1 && p.std.length !== 1) {
    throw new InputError(`${field}.std`, `has ${p.std.length} values, mean has ${p.mean.length}: give one value, or one per channel`);
  }
}

export function checkClassNames(names: readonly string[], field: string): void {
  if (names.length < 2) throw new InputError(field, `must list at least 2 classes (output index k is class_names[k]), got ${names.length}`);
  const seen = new Set<string>();
  for (const n of names) {
    if (!n) throw new InputError(field, 'has an empty name');
    if (seen.has(n)) throw new InputError(field, `lists ${JSON.stringify(n)} twice`);
    seen.add(n);
  }
}

/**
 * For each model output k, the dataset class it is (by name): the two lists must hold the same names, in
 * any order. A mismatch names both lists, since either may be the one to fix.
 */
export function mapTeacherClasses(teacherClasses: readonly string[], datasetClasses: readonly string[], field = 'teacher_model.class_names'): number[] {
  const index = new Map(datasetClasses.map((n, i) => [n, i]));
  const same = teacherClasses.length === datasetClasses.length && teacherClasses.every((n) => index.has(n));
  if (!same) {
    throw new InputError(field, `the teacher's classes [${teacherClasses.join(', ')}] are not the dataset's [${datasetClasses.join(', ')}] (the same names are needed, in any order)`);
  }
  return teacherClasses.map((n) => index.get(n) as number);
}

/**
 * For a detection or segmentation teacher: for each model class k, the dataset's class of the same name,
 * or -1 where the dataset has none (its boxes or pixels are dropped: a COCO teacher labels a dataset of
 * a few of COCO's classes). Every class the dataset labels must be among the teacher's (detection: all but
 * the background, class 0), else the student would learn those objects as background: an InputError
 * naming both lists.
 */
export function mapDenseTeacherClasses(teacherClasses: readonly string[], datasetClasses: readonly string[], task: 'detection' | 'segmentation', field = 'teacher_model.class_names'): number[] {
  const taught = new Set(teacherClasses);
  const needed = task === 'detection' ? datasetClasses.slice(1) : datasetClasses;
  const missing = needed.filter((n) => !taught.has(n));
  if (missing.length > 0) {
    throw new InputError(field, `the teacher's classes [${teacherClasses.join(', ')}] lack the dataset's ${missing.map((m) => JSON.stringify(m)).join(', ')} (dataset classes: [${datasetClasses.join(', ')}]${task === 'detection' ? '; class 0, the background, need not be listed' : ''})`);
  }
  const index = new Map(datasetClasses.map((n, i) => [n, i]));
  return teacherClasses.map((n) => {
    const i = index.get(n);
    return i === undefined || (task === 'detection' && i === 0) ? -1 : i;
  });
}

/**
 * What a TeacherModel's labels depend on: the model's bytes (model.sha256) and the contract that reads them,
 * not where the model lies. model.sha256 is the ONNX file's sha256, or for a TF.js model its
 * tfjsModelDigest (libs/storage): the sha256 of one line "<path> <sha256 of the file>" per file, model.json
 * first, then every weight file in manifest order, so any byte of any file changes it. The labeler's output
 * keys digest it where a checkpoint's sha256 goes.
 */
export function teacherModelDigest(m: CheckedTeacherModel): string {
  const contract = { source: m.source, sha256: m.model.sha256, preprocess: m.preprocess, output: m.output, classNames: m.classNames };
  return createHash('sha256').update(JSON.stringify(contract)).digest('hex');
}
