// What a selftrain-exported ONNX file says about itself in metadata_props (written by libs/export's
// exportMetadata, documented in docs/adr/0006-model-export.md): the task, the classes and the
// preprocessing. A file without one of the keys predict needs is refused with the key named, since
// guessing a preprocessing would give wrong answers without a word.
import { FIT_POLICIES, type FitPolicy } from '@selftrain/data';
import { InputError } from '@selftrain/errors';
import type { ImageShape } from '@selftrain/train';
import { defaultFit, PREDICT_TASKS, type PredictorInput, type PredictTask } from './predictor';

export interface ExportedModelSpec {
  task: PredictTask;
  classNames: string[];
  input: PredictorInput;
  /** The graph input's name. */
  inputName: string;
  /** The scale and normalisation, as writeModelInput takes them. */
  shape: ImageShape;
  /** Detector only: the anchors (flat normalized corner boxes) and the box coder's variances. */
  detection?: { anchors: Float32Array; variances: number[] };
}

/** The spec in `meta` (metadata_props as a record); `where` (the file) names it in errors. */
export function exportedModelSpec(meta: Readonly<Record<string, string>>, where: string): ExportedModelSpec {
  const need = (key: string, why: string): string => {
    const v = meta[key];
    if (v === undefined || v === '') {
      throw new InputError(where, `has no metadata_props key "${key}" (${why}); predict runs ONNX files written by \`selftrain export\`, which records the preprocessing there`);
    }
    return v;
  };
  const bad = (key: string, what: string): never => {
    throw new InputError(where, `metadata_props key "${key}" is ${JSON.stringify(meta[key])}: ${what}`);
  };
  const json = <T>(key: string, why: string, valid: (v: unknown) => boolean, what: string): T => {
    const raw = need(key, why);
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch {
      return bad(key, `not JSON; ${what}`);
    }
    return valid(v) ? (v as T) : bad(key, what);
  };
  const numbers = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x));

  const task = need('task', 'the model\'s task') as PredictTask;
  if (!PREDICT_TASKS.includes(task)) bad('task', `known tasks: ${PREDICT_TASKS.join(', ')}`);
  const classNames = json<string[]>('class_names', 'what each output means', (v) => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string'), 'need a JSON list of class names');
  const layout = need('input_layout', 'NHWC or NCHW');
  if (layout !== 'NHWC') bad('input_layout', 'selftrain exports are NHWC');
  const int = (key: string, why: string): number => {
    const n = Number(need(key, why));
    return Number.isInteger(n) && n > 0 ? n : bad(key, 'need a positive integer');
  };
  const height = int('input_height', 'the image height the model was trained on');
  const width = int('input_width', 'the image width the model was trained on');
  const channels = int('channels', '1 (grey) or 3 (RGB)');
  if (channels !== 1 && channels !== 3) bad('channels', 'need 1 or 3');
  const order = need('channel_order', 'L or RGB');
  if (order !== (channels === 1 ? 'L' : 'RGB')) bad('channel_order', `need ${channels === 1 ? 'L' : 'RGB'} for ${channels} channel(s)`);
  const scale = Number(need('pixel_scale', 'what a 0..255 pixel is multiplied by'));
  if (!(Math.abs(scale - 1 / 255) < 1e-9)) bad('pixel_scale', 'predict feeds pixel / 255, as every selftrain model was trained');
  let mean: number[] = [];
  let std: number[] = [];
  if (meta.channel_mean !== undefined || meta.channel_std !== undefined) {
    const perChannel = (v: unknown) => numbers(v) && (v as number[]).length === channels;
    mean = json<number[]>('channel_mean', 'given with channel_std', perChannel, `need ${channels} number(s)`);
    std = json<number[]>('channel_std', 'given with channel_mean', (v) => perChannel(v) && (v as number[]).every((x) => x > 0), `need ${channels} positive number(s)`);
  }
  const policy = meta.resize_policy;
  if (policy !== undefined && policy !== '' && !FIT_POLICIES.includes(policy as FitPolicy)) bad('resize_policy', `known: ${FIT_POLICIES.join(', ')}`);
  const fit = (policy || defaultFit(task)) as FitPolicy;
  const spec: ExportedModelSpec = {
    task, classNames,
    input: { height, width, channels: channels as 1 | 3, fit },
    inputName: need('input_name', 'the graph input to feed'),
    shape: { height, width, channels, mean, std },
  };
  if (task === 'detection') {
    const anchors = json<number[]>('anchors', 'the detector\'s anchor boxes', (v) => numbers(v) && (v as number[]).length > 0 && (v as number[]).length % 4 === 0, 'need a flat JSON list of N x 4 numbers');
    const variances = json<number[]>('box_variances', 'the box coder\'s scales', (v) => numbers(v) && (v as number[]).length === 4, 'need 4 numbers');
    spec.detection = { anchors: Float32Array.from(anchors), variances };
  }
  return spec;
}
