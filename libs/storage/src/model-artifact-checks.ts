// What a model.json and its weights must be before TF.js sees them. The bucket is written by other tools
// too (a user's own client, a half-finished copy), and TF.js answers bad artifacts with TypeErrors or,
// worse, with a model of random weights; these checks turn each into an error naming the object.
import type * as tf from '@tensorflow/tfjs';
import { CorruptDataError, FailedPreconditionError } from '@selftrain/errors';

/** Bytes per element of each weight dtype a LayersModel checkpoint may hold (TF.js's own sizes). */
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };
/** Quantized weights store this many bytes per element instead. */
const QUANTIZED_BYTES: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isShape = (v: unknown): v is number[] => Array.isArray(v) && v.every((d) => Number.isSafeInteger(d) && d >= 0);

/** The parsed model.json, checked for the fields loading relies on: DATA_LOSS when one is missing or malformed. */
export function checkModelJson(key: string, json: unknown): tf.io.ModelJSON {
  const corrupt = (why: string) => new CorruptDataError(key, 0, `not a TF.js LayersModel model.json: ${why}`);
  if (!isObject(json)) throw corrupt(`the document is ${json === null ? 'null' : Array.isArray(json) ? 'an array' : typeof json}`);
  if (!isObject(json.modelTopology)) throw corrupt('no modelTopology object');
  // Without a manifest TF.js would build the model with fresh random weights and say nothing.
  if (!Array.isArray(json.weightsManifest)) throw corrupt('no weightsManifest array');
  json.weightsManifest.forEach((group: unknown, g) => {
    if (!isObject(group) || !Array.isArray(group.paths) || !group.paths.every((p) => typeof p === 'string' && p !== '')) {
      throw corrupt(`weightsManifest[${g}] has no list of paths`);
    }
    if (!Array.isArray(group.weights)) throw corrupt(`weightsManifest[${g}] has no list of weights`);
    group.weights.forEach((w: unknown, i) => {
      if (!isObject(w) || typeof w.name !== 'string' || !isShape(w.shape) || typeof w.dtype !== 'string') {
        throw corrupt(`weightsManifest[${g}].weights[${i}] needs a name, a shape of non-negative integers and a dtype`);
      }
    });
  });
  return json as unknown as tf.io.ModelJSON;
}

/** Bytes the weights of a checked manifest take; FAILED_PRECONDITION for a dtype this service cannot load. */
export function expectedWeightBytes(key: string, specs: tf.io.WeightsManifestEntry[]): number {
  let total = 0;
  for (const spec of specs) {
    const quantized = spec.quantization?.dtype;
    const bytes = quantized !== undefined ? QUANTIZED_BYTES[quantized] : DTYPE_BYTES[spec.dtype];
    if (bytes === undefined) {
      const what = quantized !== undefined ? `quantization dtype ${JSON.stringify(quantized)}` : `dtype ${JSON.stringify(spec.dtype)}`;
      throw new FailedPreconditionError(
        `checkpoint ${key}: weight "${spec.name}" has ${what}; this service loads ${Object.keys(DTYPE_BYTES).join(', ')} weights (quantized as ${Object.keys(QUANTIZED_BYTES).join(', ')})`,
      );
    }
    total += spec.shape.reduce((n, d) => n * d, 1) * bytes;
  }
  return total;
}

/** DATA_LOSS naming the weight objects when their bytes are not what the manifest describes (truncated, or another model's). */
export function checkWeightBytes(weightKeys: string[], expected: number, actual: number): void {
  if (actual === expected) return;
  const objects = weightKeys.join(' + ');
  throw new CorruptDataError(objects, Math.min(actual, expected),
    `${actual} bytes of weights, model.json's weightsManifest describes ${expected}${actual < expected ? ' (truncated?)' : ''}`);
}
