import { tf } from '@selftrain/compute';
import { InputError, NotFoundError } from '@selftrain/errors';
import { InitReport } from '@selftrain/proto';
import { checkModelJson, isGraphModelJson, readTfjsModelFiles, weightBuffer, weightPaths, type ObjectStore } from '@selftrain/storage';
import type { ImageShape, ResolvedTrainOptions } from '@selftrain/train';
import { buildTaskModel, type ModelTask } from './task-models';

/** The request field every init problem names. */
export const INIT_FIELD = 'options.init_checkpoint';

/** Which layers of a model an init's weights fit, as InitReport lists them. */
export type InitMatch = Pick<InitReport, 'matched' | 'skipped' | 'unmatched' | 'unused'>;

/** A matched layer and the init's weight names for its weights, in the layer's order. */
interface LayerTake { layer: tf.layers.Layer; names: string[] }

/** Layers that hold weights; a nested model's layers are matched one by one, like the outer ones. */
function weightedLayers(layers: tf.layers.Layer[]): tf.layers.Layer[] {
  return layers.flatMap((l) => {
    const inner = (l as unknown as { layers?: tf.layers.Layer[] }).layers;
    if (Array.isArray(inner)) return weightedLayers(inner);
    return l.weights.length > 0 ? [l] : [];
  });
}

const weightShortName = (w: tf.LayerVariable) => w.originalName.slice(w.originalName.lastIndexOf('/') + 1);
const layerOf = (weightName: string) => (weightName.includes('/') ? weightName.slice(0, weightName.lastIndexOf('/')) : weightName);
const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Matches an init's weights (name -> shape, as its weightsManifest lists them) to a model's layers. A
 * weight's name is "layer/kernel", the name TF.js saves a LayersModel's weights under, so a checkpoint of
 * the same zoo model, or its stock TF.js export, names every layer as the model does. A layer takes the
 * init's weights only when all of them are there with its shapes: one of another shape skips the layer
 * (the head of another label space), one missing leaves it unmatched; both keep their fresh initialisation.
 */
export function matchInitLayers(model: tf.LayersModel, init: Map<string, readonly number[]>): { match: InitMatch; take: LayerTake[] } {
  const match: InitMatch = { matched: [], skipped: [], unmatched: [], unused: [] };
  const take: LayerTake[] = [];
  const seen = new Set<string>();
  for (const layer of weightedLayers(model.layers)) {
    // Exported names are the variable's original name; "layer/weight" covers a model whose scopes differ.
    const names = layer.weights.map((w) => [w.originalName, `${layer.name}/${weightShortName(w)}`].find((n) => init.has(n)));
    names.forEach((n) => n !== undefined && seen.add(n));
    const differs = layer.weights.findIndex((w, i) => names[i] !== undefined && !sameShape(init.get(names[i] as string) as number[], w.shape as number[]));
    if (differs >= 0) {
      const w = layer.weights[differs];
      match.skipped.push({ layer: layer.name, weight: weightShortName(w), modelShape: [...(w.shape as number[])], initShape: [...(init.get(names[differs] as string) as number[])] });
    } else if (names.every((n) => n !== undefined)) {
      match.matched.push(layer.name);
      take.push({ layer, names: names as string[] });
    } else {
      match.unmatched.push(layer.name);
    }
  }
  match.unused = [...new Set([...init.keys()].filter((n) => !seen.has(n)).map(layerOf))];
  return { match, take };
}

/** One line for logs and job events: counts, and the skipped layers with both shapes. */
export function describeInitMatch(m: InitMatch): string {
  const shape = (s: number[]) => `[${s.join(',')}]`;
  const skipped = m.skipped.slice(0, 4).map((s) => `${s.layer} ${s.weight} ${shape(s.modelShape)} vs init ${shape(s.initShape)}`);
  if (m.skipped.length > 4) skipped.push(`${m.skipped.length - 4} more`);
  return `${m.matched.length} layer(s) matched, ${m.skipped.length} skipped for their shape${skipped.length ? ` (${skipped.join('; ')})` : ''}, `
    + `${m.unmatched.length} not in the init${m.unmatched.length ? ` (${m.unmatched.slice(0, 4).join(', ')}${m.unmatched.length > 4 ? ', ...' : ''})` : ''}, `
    + `${m.unused.length} of the init's not in the model`;
}

/**
 * A GraphModel's weights belong to graph ops (often folded: a batch norm into its conv), not to named
 * layers, so they cannot initialise a zoo model's layers. `field` names the request or spec field.
 */
export function refuseGraphModelInit(where: string, json: tf.io.ModelJSON, field = INIT_FIELD): void {
  if (!isGraphModelJson(json)) return;
  throw new InputError(field, `${where} is a TF.js GraphModel (format "graph-model"): its weights belong to graph ops, not to layers, `
    + 'so none can be matched to the model\'s layers by name; give a LayersModel (tf.LayersModel.save, or tensorflowjs_converter --output_format tfjs_layers_model)');
}

/** An init that fits no layer would train from a random init under another name: refused. */
function requireSomeMatch(key: string, o: ResolvedTrainOptions, m: InitMatch): void {
  if (m.matched.length > 0) return;
  throw new InputError(INIT_FIELD, `${key} matches no layer of model ${o.model} (width ${o.width}): ${describeInitMatch(m)}; `
    + 'an init needs layers of the same names and shapes (the same zoo model and width, or its stock TF.js export)');
}

const folderOf = (key: string) => key.slice(0, key.lastIndexOf('/') + 1);
const initShapes = (json: tf.io.ModelJSON) => new Map(json.weightsManifest.flatMap((g) => g.weights).map((w) => [w.name, w.shape] as const));

/**
 * Checked when a job starts, before anything trains: the init's model.json exists (NOT_FOUND), is a
 * LayersModel (INVALID_ARGUMENT), names weight files that exist (NOT_FOUND), and matches at least one
 * layer of `model` (INVALID_ARGUMENT naming options.init_checkpoint). Reads model.json only.
 */
export async function checkInitCheckpoint(store: ObjectStore, o: ResolvedTrainOptions, shape: ImageShape, numClasses: number, task: ModelTask): Promise<void> {
  const key = o.initCheckpoint;
  if (!(await store.exists(key))) throw new NotFoundError(`${INIT_FIELD} ${key}`);
  const json = checkModelJson(key, await store.getJson(key));
  refuseGraphModelInit(key, json);
  for (const path of weightPaths(key, json)) {
    const weights = `${folderOf(key)}${path}`;
    if (!(await store.exists(weights))) throw new NotFoundError(`${INIT_FIELD} ${key}: weight file ${weights}`);
  }
  // Images of differing sizes give no one model input to build here; the job matches when it starts.
  if (!(shape.height > 0 && shape.width > 0)) return;
  const model = buildTaskModel(o, shape, numClasses, task);
  try {
    requireSomeMatch(key, o, matchInitLayers(model, initShapes(json)).match);
  } finally {
    model.dispose();
  }
}

/**
 * Gives `model` the init's weights, layer by layer (matchInitLayers), and says which it took. The init
 * is read as files and decoded by name: no model is built from it, so a stock model whose layers this
 * service could not build (or a selftrain checkpoint with the project's layers) initialises alike.
 */
export async function applyInitCheckpoint(store: ObjectStore, model: tf.LayersModel, o: ResolvedTrainOptions): Promise<InitReport> {
  const key = o.initCheckpoint;
  const stat = await store.stat(key);
  if (!stat) throw new NotFoundError(`${INIT_FIELD} ${key}`);
  const files = await readTfjsModelFiles((path) => store.get(`${folderOf(key)}${path}`), key);
  refuseGraphModelInit(key, files.modelJson);
  const specs = files.modelJson.weightsManifest.flatMap((g) => g.weights);
  const { match, take } = matchInitLayers(model, initShapes(files.modelJson));
  requireSomeMatch(key, o, match);
  const tensors = tf.io.decodeWeights(weightBuffer(files), specs);
  try {
    // setWeights copies into the model's variables; the decoded tensors are ours to free.
    for (const t of take) t.layer.setWeights(t.names.map((n) => tensors[n]));
  } finally {
    tf.dispose(Object.values(tensors));
  }
  return InitReport.fromPartial({ checkpoint: { key, sha256: stat.sha256, sizeBytes: stat.sizeBytes }, digest: files.digest, ...match });
}
