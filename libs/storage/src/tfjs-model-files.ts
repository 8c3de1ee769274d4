import { CorruptDataError, objectKeyProblem } from '@selftrain/errors';
import type * as tf from '@tensorflow/tfjs';
import { checkModelJson, checkWeightBytes, expectedWeightBytes } from './model-artifact-checks';
import { sha256Hex } from './sha256';

export const MODEL_JSON_FILE = 'model.json';

/** A TF.js model as files: model.json and its weight files, in the manifest's order, checked. */
export interface TfjsModelFiles {
  modelJson: tf.io.ModelJSON;
  /** model.json first, then every weight file; `path` is relative to model.json's folder. */
  files: { path: string; bytes: Buffer }[];
  /** tfjsModelDigest of the files. */
  digest: string;
}

/**
 * The content address of a TF.js model: sha256 over one line per file, model.json first, then the weight
 * files in manifest order ("<path> <sha256 of its bytes>\n"). Any byte of the model changes it; the names
 * are part of it because model.json refers to the weight files by name.
 */
export function tfjsModelDigest(files: { path: string; bytes: Uint8Array }[]): string {
  return sha256Hex(files.map((f) => `${f.path} ${sha256Hex(f.bytes)}\n`).join(''));
}

/**
 * A GraphModel's model.json (tfjs-converter's `tfjs_graph_model` output): a GraphDef of ops, not layers,
 * so nothing in it can be matched to a layer of another model.
 */
export function isGraphModelJson(json: tf.io.ModelJSON): boolean {
  const topology = json.modelTopology as Record<string, unknown> | undefined;
  return json.format === 'graph-model' || Array.isArray(topology?.node);
}

/** The weight files a checked model.json names, as paths relative to it; DATA_LOSS for one that escapes its folder. */
export function weightPaths(where: string, json: tf.io.ModelJSON): string[] {
  return json.weightsManifest.flatMap((group) => group.paths.map((p) => {
    const problem = objectKeyProblem(p);
    if (problem) throw new CorruptDataError(where, 0, `weightsManifest path ${JSON.stringify(p.slice(0, 80))} ${problem}`);
    return p;
  }));
}

/**
 * Reads a TF.js model through `read` (a path relative to model.json's folder -> its bytes; it throws
 * NotFoundError for a missing file), from wherever it lies: the bucket, a folder, a web server. `where`
 * names model.json in errors: DATA_LOSS when model.json is not JSON, lacks what loading needs, or names
 * weights whose bytes do not add up.
 */
export async function readTfjsModelFiles(read: (path: string) => Promise<Buffer>, where: string): Promise<TfjsModelFiles> {
  const jsonBytes = await read(MODEL_JSON_FILE);
  let parsed: unknown;
  try {
    parsed = JSON.parse(jsonBytes.toString('utf8'));
  } catch (err) {
    throw new CorruptDataError(where, 0, `is not valid JSON: ${(err as Error).message}`);
  }
  const modelJson = checkModelJson(where, parsed);
  const paths = weightPaths(where, modelJson);
  const expected = expectedWeightBytes(where, modelJson.weightsManifest.flatMap((g) => g.weights));
  const files = [{ path: MODEL_JSON_FILE, bytes: jsonBytes }];
  for (const path of paths) files.push({ path, bytes: await read(path) });
  const folder = where.slice(0, where.lastIndexOf('/') + 1);
  checkWeightBytes(paths.map((p) => `${folder}${p}`), expected, files.slice(1).reduce((n, f) => n + f.bytes.length, 0));
  return { modelJson, files, digest: tfjsModelDigest(files) };
}

/** The weight bytes of read model files, in manifest order, as one exact-size ArrayBuffer (what tf.io decodes). */
export function weightBuffer(model: TfjsModelFiles): ArrayBuffer {
  const all = Buffer.concat(model.files.slice(1).map((f) => f.bytes));
  return all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
}
