import type * as tf from '@tensorflow/tfjs';
import { FailedPreconditionError, InputError } from '@selftrain/errors';
import type { Artifact } from '@selftrain/proto';
import { validateKey } from './keys';
import { sha256Hex } from './sha256';
import { checkModelJson, checkWeightBytes, expectedWeightBytes } from './model-artifact-checks';
import type { ObjectStore } from './object-store';

export const MODEL_JSON = 'model.json';

/**
 * The weights file a save writes: named by its content (`weights-<16 hex of sha256>.bin`), never the file
 * the committed model.json names unless the bytes are the same. A save killed after its weights and
 * before its model.json so leaves the previous checkpoint whole (its model.json and its own weights), not
 * new weights under an old model.json. Readers follow model.json's weightsManifest, as TF.js does.
 */
export function weightsFileName(weights: Uint8Array): string {
  return `weights-${sha256Hex(weights).slice(0, 16)}.bin`;
}

/**
 * TF.js, loaded on the first model read or write: a process that only touches objects (the CLI's
 * `status`, `report`) never pays for it.
 */
function tfjs(): typeof tf {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@tensorflow/tfjs') as typeof tf;
}

function checkpointDir(prefix: string): string {
  const dir = prefix.replace(/\/+$/, '');
  validateKey(dir, 'prefix');
  return dir;
}

function dirOf(key: string): string {
  const i = key.lastIndexOf('/');
  return i < 0 ? '' : key.slice(0, i);
}

function join(dir: string, name: string): string {
  return dir ? `${dir}/${name}` : name;
}

/**
 * Writes weights first and model.json last, so a model.json in the bucket always names complete weights:
 * a reader that finds model.json has a whole checkpoint, and a crash mid-save leaves the previous one
 * (weightsFileName). Once model.json commits, the weights file the previous model.json named is deleted.
 */
async function saveArtifacts(
  store: ObjectStore,
  dir: string,
  artifacts: tf.io.ModelArtifacts,
): Promise<{ modelJson: Artifact; weights?: Artifact; info: tf.io.ModelArtifactsInfo }> {
  if (artifacts.modelTopology instanceof ArrayBuffer) {
    throw new InputError('modelTopology', 'binary (GraphDef) topologies are not supported; save a LayersModel');
  }
  const weightData = new Uint8Array(artifacts.weightData == null ? new ArrayBuffer(0) : tfjs().io.CompositeArrayBuffer.join(artifacts.weightData));
  const weightsFile = weightsFileName(weightData);
  const previous = await previousWeightFiles(store, dir);
  const weights = await store.put(join(dir, weightsFile), weightData);
  const manifest: tf.io.WeightsManifestConfig = [{ paths: [weightsFile], weights: artifacts.weightSpecs ?? [] }];
  // The same fields tf.io's own handlers write (its builder for them is not exported).
  const modelJson: tf.io.ModelJSON = {
    modelTopology: artifacts.modelTopology as object,
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    weightsManifest: manifest,
  };
  if (artifacts.trainingConfig != null) modelJson.trainingConfig = artifacts.trainingConfig;
  if (artifacts.userDefinedMetadata != null) modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
  if (artifacts.signature != null) modelJson.signature = artifacts.signature;
  if (artifacts.modelInitializer != null) modelJson.modelInitializer = artifacts.modelInitializer;
  if (artifacts.initializerSignature != null) modelJson.initializerSignature = artifacts.initializerSignature;
  const json = await store.putJson(join(dir, MODEL_JSON), modelJson);
  // A file left by a failed delete costs space only: the committed model.json does not name it.
  for (const old of previous) if (old !== weightsFile) await store.delete(join(dir, old)).catch(() => undefined);
  return { modelJson: json, weights, info: tfjs().io.getModelArtifactsInfoForJSON(artifacts) };
}

/**
 * The weight files the model.json now under `dir` names (none when there is none, or it is unreadable:
 * then nothing is deleted). Only plain names in `dir`: a manifest path elsewhere is not this save's to delete.
 */
async function previousWeightFiles(store: ObjectStore, dir: string): Promise<string[]> {
  const json = await store.getJson<tf.io.ModelJSON>(join(dir, MODEL_JSON)).catch(() => undefined);
  const paths = Array.isArray(json?.weightsManifest) ? json.weightsManifest.flatMap((g) => (Array.isArray(g?.paths) ? g.paths : [])) : [];
  return paths.filter((p): p is string => typeof p === 'string' && /^[\w.-]+$/.test(p) && p !== MODEL_JSON);
}

async function loadArtifacts(store: ObjectStore, modelJsonKey: string): Promise<tf.io.ModelArtifacts> {
  const modelJson = checkModelJson(modelJsonKey, await store.getJson(modelJsonKey));
  const dir = dirOf(modelJsonKey);
  const specs = modelJson.weightsManifest.flatMap((group) => group.weights);
  const expected = expectedWeightBytes(modelJsonKey, specs);
  const keys = modelJson.weightsManifest.flatMap((group) => group.paths.map((p) => validateKey(join(dir, p), `${modelJsonKey}.weightsManifest.paths`)));
  const buffers: Buffer[] = [];
  for (const key of keys) buffers.push(await store.get(key));
  const all = Buffer.concat(buffers);
  checkWeightBytes(keys, expected, all.length);
  return tfjs().io.getModelArtifactsForJSON(modelJson, async () =>
    // An exact-size ArrayBuffer: Buffer's backing store can be a larger shared pool.
    [specs, all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer]);
}

/** A tf.io.IOHandler that saves to `<prefix>/weights-<digest>.bin` + `<prefix>/model.json` and loads them back. */
export function bucketModelHandler(store: ObjectStore, prefix: string): tf.io.IOHandler {
  const dir = checkpointDir(prefix);
  return {
    save: async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      const { info } = await saveArtifacts(store, dir, artifacts);
      return { modelArtifactsInfo: info };
    },
    load: () => loadArtifacts(store, join(dir, MODEL_JSON)),
  };
}

/**
 * Saves a LayersModel under `prefix`; `metadata` lands in model.json's userDefinedMetadata. Returns model.json's
 * Artifact. Pass `{ includeOptimizer: true }` to keep trainingConfig and optimizer state for resuming training.
 */
export async function saveModelToBucket(
  store: ObjectStore,
  prefix: string,
  model: tf.LayersModel,
  metadata?: object,
  saveConfig?: tf.io.SaveConfig,
): Promise<Artifact> {
  const dir = checkpointDir(prefix);
  let saved: Artifact | undefined;
  await model.save({
    save: async (artifacts) => {
      const merged = metadata ? { ...artifacts, userDefinedMetadata: { ...artifacts.userDefinedMetadata, ...metadata } } : artifacts;
      const r = await saveArtifacts(store, dir, merged);
      saved = r.modelJson;
      return { modelArtifactsInfo: r.info };
    },
  }, saveConfig);
  if (!saved) throw new Error(`model.save did not call the save handler for ${dir}`);
  return saved;
}

/**
 * Loads a LayersModel from its model.json key (weights resolved relative to it). NotFoundError when absent,
 * CorruptDataError naming the object when model.json or the weights are damaged, FailedPreconditionError
 * when they are intact but not a model TF.js can build (an unknown layer class, weights that do not fit it).
 */
export async function loadModelFromBucket(store: ObjectStore, modelJsonKey: string): Promise<tf.LayersModel> {
  validateKey(modelJsonKey, 'modelJsonKey');
  const artifacts = await loadArtifacts(store, modelJsonKey);
  try {
    return await tfjs().loadLayersModel({ load: async () => artifacts });
  } catch (err) {
    // Everything read from the bucket has been checked; what TF.js refuses now is the model itself.
    const why = (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 300);
    throw new FailedPreconditionError(`checkpoint ${modelJsonKey} is not a model this service can load: ${why}`, { cause: err });
  }
}

/** The userDefinedMetadata saved with a checkpoint (undefined when there is none), without loading weights. */
export async function readCheckpointMetadata(
  store: ObjectStore,
  modelJsonKey: string,
): Promise<Record<string, unknown> | undefined> {
  validateKey(modelJsonKey, 'modelJsonKey');
  const json = await store.getJson<tf.io.ModelJSON>(modelJsonKey);
  return (json?.userDefinedMetadata as Record<string, unknown> | undefined) ?? undefined;
}
