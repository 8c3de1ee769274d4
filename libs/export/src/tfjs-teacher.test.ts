// The TF.js teacher on models that did not come from selftrain: a LayersModel made here with tf.sequential
// (weights split over two files) and a GraphModel written in tfjs-converter's format. Its probabilities are
// tf's own predict on exactly the declared preprocessing; the digest covers every file; a model that does
// not fit its contract is refused naming the field.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '@selftrain/compute';
import { CorruptDataError, InputError, NotFoundError } from '@selftrain/errors';
import type { TeacherModel } from '@selftrain/proto';
import { MemoryObjectStore, readTfjsModelFiles, tfjsModelDigest, type ObjectStore } from '@selftrain/storage';
import { writeTeacherInput, type PixelImage } from './class-teacher';
import { checkTeacherModel, teacherModelDigest, type CheckedTeacherModel } from './teacher-contract';
import { TeacherModelCache } from './teacher-model-cache';
import { TfjsTeacher } from './tfjs-teacher';
import { exportStockTfjs } from './export-tfjs';
import { buildTaskModel } from '@selftrain/checkpoints';
import { segmentationPredictor, TEACHER_DEFAULTS } from '@selftrain/train';
import { linearGraphModel } from './testing/linear-graph-model';

before(async () => {
  await initBackend({ purpose: 'infer' });
});

type Files = { path: string; bytes: Buffer }[];
type Pre = Partial<NonNullable<TeacherModel['preprocess']>>;

/** A deterministic stream of numbers in [0, 1). */
function uniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}
const images = (n: number, h: number, w: number, c: number, seed: number): PixelImage[] => {
  const next = uniform(seed);
  return Array.from({ length: n }, () => ({ image: Uint8Array.from({ length: h * w * c }, () => Math.floor(next() * 256)), height: h, width: w, channels: c }));
};

/** A small CNN of stock layers (seeded), [4, 4, 3] NHWC -> 3 logits (or probabilities). */
function stockCnn(softmax = false, units = 3): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [4, 4, 3], filters: 2, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }), biasInitializer: tf.initializers.randomNormal({ seed: 2 }) }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units, activation: softmax ? 'softmax' : 'linear', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }), biasInitializer: tf.initializers.randomNormal({ seed: 4 }) }));
  return model;
}

/** model.json + its weights as `shards` files, as tf.io's own writers lay them out. */
async function layersFiles(model: tf.LayersModel, shards = 2): Promise<Files> {
  let files: Files = [];
  await model.save({
    save: async (a) => {
      const data = Buffer.from(tf.io.CompositeArrayBuffer.join(a.weightData!));
      const cut = Array.from({ length: shards + 1 }, (_, i) => Math.round((i * data.length) / shards));
      const paths = Array.from({ length: shards }, (_, i) => `group1-shard${i + 1}of${shards}.bin`);
      const json = { modelTopology: a.modelTopology, format: a.format, generatedBy: a.generatedBy, convertedBy: a.convertedBy, weightsManifest: [{ paths, weights: a.weightSpecs }] };
      files = [{ path: 'model.json', bytes: Buffer.from(JSON.stringify(json)) }, ...paths.map((path, i) => ({ path, bytes: data.subarray(cut[i], cut[i + 1]) }))];
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    },
  });
  return files;
}

function graphFiles(g: ReturnType<typeof linearGraphModel>): Files {
  return [{ path: 'model.json', bytes: Buffer.from(JSON.stringify(g.modelJson)) }, { path: 'group1-shard1of1.bin', bytes: Buffer.from(g.weightData) }];
}

async function putFiles(store: ObjectStore, dir: string, files: Files): Promise<string> {
  for (const f of files) await store.put(`${dir}/${f.path}`, f.bytes);
  return `${dir}/model.json`;
}

function contract(key: string, files: Files, pre: Pre = {}, over: Partial<TeacherModel> = {}): CheckedTeacherModel {
  return checkTeacherModel({
    source: 'tfjs', model: { key, sha256: tfjsModelDigest(files), sizeBytes: files.reduce((n, f) => n + f.bytes.length, 0) },
    preprocess: { input: '', layout: 'NHWC', height: 4, width: 4, channelOrder: 'RGB', scale: 1 / 255, mean: [], std: [], ...pre },
    output: { kind: 'logits', name: '' }, classNames: ['a', 'b', 'c'], ...over,
  });
}

/** The batch tf's own model sees: the contract's preprocessing, written by the same writer the teacher uses. */
function inputTensor(imgs: PixelImage[], c: CheckedTeacherModel, channels: number): tf.Tensor {
  const p = c.preprocess;
  const size = p.height * p.width * channels;
  const data = new Float32Array(imgs.length * size);
  imgs.forEach((img, i) => writeTeacherInput(data.subarray(i * size, (i + 1) * size), img, p, channels));
  return tf.tensor(data, p.layout === 'NCHW' ? [imgs.length, channels, p.height, p.width] : [imgs.length, p.height, p.width, channels]);
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

test('a stock LayersModel (tf.sequential, weights in two files) from the bucket: probabilities are softmax of tf\'s own predict within 1e-5', async () => {
  const before = tf.memory().numTensors;
  const store = new MemoryObjectStore();
  const cache = new TeacherModelCache(store);
  const model = stockCnn();
  const files = await layersFiles(model, 2);
  const key = await putFiles(store, 'teachers/cnn', files);
  // Resized 6x6 -> 4x4, normalised per channel.
  const c = contract(key, files, { mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3] });
  const teacher = await cache.get(c);
  assert.equal((teacher as TfjsTeacher).format, 'LayersModel');
  assert.equal(teacher.engine, undefined, 'the service\'s own TF.js backend runs it');
  const imgs = images(5, 6, 6, 3, 7);
  const probs = await teacher.classProbabilities(imgs, { batchSize: 2 });
  const want = tf.tidy(() => tf.softmax(model.predict(inputTensor(imgs, c, 3)) as tf.Tensor).dataSync());
  const diff = maxDiff(probs, want);
  assert.ok(diff <= 1e-5, `max abs diff ${diff}`);
  // A model whose output is already probabilities is read as such.
  const soft = stockCnn(true);
  const softFiles = await layersFiles(soft, 1);
  const cs = contract(await putFiles(store, 'teachers/soft', softFiles), softFiles, {}, { output: { kind: 'probabilities', name: '' } });
  const softTeacher = await cache.get(cs);
  const got = await softTeacher.classProbabilities(imgs);
  const direct = tf.tidy(() => (soft.predict(inputTensor(imgs, cs, 3)) as tf.Tensor).dataSync());
  assert.ok(maxDiff(got, direct) <= 1e-5);
  await cache.close();
  model.dispose();
  soft.dispose();
  assert.equal(tf.memory().numTensors, before, 'every tensor the teachers made is released');
});

test('a GraphModel (a GraphDef in tfjs-converter\'s format) loads with tf.loadGraphModel and runs NCHW as declared, equal to its own predict', async () => {
  const D = 12;
  const K = 3;
  const next = uniform(11);
  const weights = Float32Array.from({ length: D * K }, () => next() - 0.5);
  const bias = Float32Array.from([0.1, -0.2, 0.3]);
  const g = linearGraphModel({ dims: [3, 2, 2], weights, bias, inputName: 'pixel_values' });
  const files = graphFiles(g);
  const store = new MemoryObjectStore();
  const c = contract(await putFiles(store, 'teachers/graph', files), files, { layout: 'NCHW', height: 2, width: 2, input: 'pixel_values', channelOrder: 'BGR' });
  const cache = new TeacherModelCache(store);
  const teacher = await cache.get(c);
  assert.equal((teacher as TfjsTeacher).format, 'GraphModel');
  const imgs = images(3, 2, 2, 3, 5);
  const probs = await teacher.classProbabilities(imgs);
  const own = await tf.loadGraphModel({ load: async () => tf.io.getModelArtifactsForJSON(g.modelJson, async () => [g.modelJson.weightsManifest[0].weights, g.weightData.slice().buffer]) });
  const x = inputTensor(imgs, c, 3);
  const want = tf.tidy(() => tf.softmax(own.predict(x) as tf.Tensor).dataSync());
  assert.ok(maxDiff(probs, want) <= 1e-5, `${maxDiff(probs, want)}`);
  // And the map it is: x (NCHW, BGR, pixel / 255) flattened, times W, plus b.
  const xs = x.dataSync();
  imgs.forEach((_, i) => {
    const z = Array.from({ length: K }, (_k, k) => bias[k] + Array.from({ length: D }, (_j, j) => xs[i * D + j] * weights[j * K + k]).reduce((a, b) => a + b));
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b);
    e.forEach((v, k) => assert.ok(Math.abs(probs[i * K + k] - v / s) < 1e-5));
  });
  x.dispose();
  own.dispose();
  await cache.close();
});

test('the digest covers model.json and every weight file; the cache refuses other bytes (DATA_LOSS) and a missing model.json (NOT_FOUND)', async () => {
  const store = new MemoryObjectStore();
  const model = stockCnn();
  const files = await layersFiles(model, 2);
  model.dispose();
  const c = contract('teachers/cnn/model.json', files);
  const cache = new TeacherModelCache(store);
  await assert.rejects(cache.get(c), (e: unknown) => e instanceof NotFoundError && e.message.includes('teachers/cnn/model.json'));
  const key = await putFiles(store, 'teachers/cnn', files);
  assert.equal(c.model.sha256, (await readTfjsModelFiles((p) => store.get(`teachers/cnn/${p}`), key)).digest);
  const opened = await cache.get(c);
  assert.equal(await cache.get(c), opened, 'opened once');
  // One byte of the second weight file: another digest, so another pseudo-label key.
  const changed = files.map((f) => ({ ...f, bytes: Buffer.from(f.bytes) }));
  changed[2].bytes[0] ^= 0x01;
  assert.notEqual(tfjsModelDigest(changed), c.model.sha256);
  assert.notEqual(teacherModelDigest(contract(key, changed)), teacherModelDigest(c));
  // Where it lies is not part of it.
  assert.equal(teacherModelDigest(contract('elsewhere/model.json', files)), teacherModelDigest(c));
  // Replaced in the bucket after it was opened: fetched again, and refused.
  await store.put(`teachers/cnn/${changed[2].path}`, changed[2].bytes);
  await assert.rejects(cache.get(c), (e: unknown) => e instanceof CorruptDataError && e.message.includes(key) && e.message.includes(tfjsModelDigest(changed)));
  await cache.close();
});

test('a TF.js model that is not what its contract says is an InputError naming the field', async () => {
  const store = new MemoryObjectStore();
  const cache = new TeacherModelCache(store, 1);
  const refused = async (c: CheckedTeacherModel, field: string, message?: RegExp) => {
    await assert.rejects(cache.get(c), (e: unknown) => e instanceof InputError && e.field === field && (!message || message.test(e.message)), field);
  };
  const model = stockCnn();
  const files = await layersFiles(model, 2);
  model.dispose();
  const key = await putFiles(store, 'teachers/cnn', files);
  // Size, layout (an NHWC model read as NCHW), output name, output width.
  await refused(contract(key, files, { height: 5 }), 'teacher_model.preprocess.height', /takes 4/);
  await refused(contract(key, files, { layout: 'NCHW' }), 'teacher_model.preprocess.width', /layout NCHW/);
  await refused(contract(key, files, { input: 'pixels' }), 'teacher_model.preprocess.input');
  await refused(contract(key, files, {}, { output: { kind: 'logits', name: 'probs' } }), 'teacher_model.output.name');
  await refused(contract(key, files, {}, { classNames: ['a', 'b', 'c', 'd'] }), 'teacher_model.class_names', /lists 4 classes; the model's output \S+ has shape \[batch, 3\]/);
  await refused(contract(key, files, { mean: [0.5, 0.5] }), 'teacher_model.preprocess.mean');
  // As a segmenter: an output kind the task cannot read names the field.
  await assert.rejects(async () => cache.getDense(contract(key, files, {}, { output: { kind: 'boxes', name: '' } }), 'segmentation'), (e: unknown) => e instanceof InputError && e.field === 'teacher_model.output.kind' && /a segmentation teacher's output is logits or probabilities/.test(e.message));
  // Another rank: a model over flat vectors.
  const flat = tf.sequential({ layers: [tf.layers.dense({ inputShape: [48], units: 3 })] });
  const flatFiles = await layersFiles(flat, 1);
  flat.dispose();
  await refused(contract(await putFiles(store, 'teachers/flat', flatFiles), flatFiles), 'teacher_model.preprocess.input', /2 dimensions; an image input has 4/);
  // A weights file model.json names is missing; weights that do not add up; a model.json that is not TF.js's.
  await store.delete('teachers/cnn/group1-shard2of2.bin');
  await refused(contract(key, files), 'teacher_model.model', /names the weights file group1-shard2of2\.bin, which is missing/);
  const short = [files[0], { path: files[1].path, bytes: files[1].bytes }];
  const shortJson = JSON.parse(files[0].bytes.toString());
  shortJson.weightsManifest[0].paths = [files[1].path];
  short[0] = { path: 'model.json', bytes: Buffer.from(JSON.stringify(shortJson)) };
  await refused(contract(await putFiles(store, 'teachers/short', short), short), 'teacher_model.model', /bytes of weights, model\.json's weightsManifest describes \d+ \(truncated\?\)/);
  const notTfjs = [{ path: 'model.json', bytes: Buffer.from(JSON.stringify({ name: 'resnet', layers: 18 })) }];
  await refused(contract(await putFiles(store, 'teachers/not', notTfjs), notTfjs), 'teacher_model.model', /not a TF\.js LayersModel model\.json: no modelTopology object/);
  // A layer class TF.js does not know (a custom layer not registered in this process).
  const custom = JSON.parse(files[0].bytes.toString());
  custom.modelTopology.config.layers[1].class_name = 'SelftrainMystery';
  const customFiles = [{ path: 'model.json', bytes: Buffer.from(JSON.stringify(custom)) }, ...files.slice(1)];
  await refused(contract(await putFiles(store, 'teachers/custom', customFiles), customFiles), 'teacher_model.model', /TF\.js cannot load it as a LayersModel: .*SelftrainMystery/);
  // A GraphModel: an int input, and an output narrower than class_names (its shape known only when it runs).
  const g = (over: Partial<Parameters<typeof linearGraphModel>[0]> = {}) => graphFiles(linearGraphModel({ dims: [4, 4, 3], weights: new Float32Array(48 * 2), bias: new Float32Array(2), ...over }));
  const ints = g({ inputDtype: 'DT_INT32' });
  await refused(contract(await putFiles(store, 'teachers/ints', ints), ints, {}, { classNames: ['a', 'b'] }), 'teacher_model.preprocess.input', /is int32; a teacher's input is float32/);
  const two = g();
  const teacher = await cache.get(contract(await putFiles(store, 'teachers/two', two), two));
  await assert.rejects(teacher.classProbabilities(images(1, 4, 4, 3, 1)), (e: unknown) => e instanceof InputError && e.field === 'teacher_model.class_names' && /\[1, 2\] for 1 image\(s\), expected \[1, 3\]/.test(e.message));
  await cache.close();
});

test('a stock TF.js segmenter (selftrain\'s, exported stock) teaches segmentation: the checkpoint\'s probabilities, its classes mapped by name', async () => {
  const model = buildTaskModel({ ...TEACHER_DEFAULTS, model: 'segmenter', width: 0.25, seed: 4 }, { height: 32, width: 32, channels: 3 }, 3, 'segmentation');
  const stock = await exportStockTfjs(model, {}, [32, 32]);
  const files: Files = [{ path: 'model.json', bytes: Buffer.from(JSON.stringify(stock.modelJson)) }, { path: 'weights.bin', bytes: Buffer.from(stock.weightData) }];
  const store = new MemoryObjectStore();
  const cache = new TeacherModelCache(store, 1);
  const key = await putFiles(store, 'teachers/seg', files);
  const teacherClasses = ['dog', 'background', 'cat'];
  const teacher = await cache.getDense(contract(key, files, { height: 32, width: 32 }, { classNames: teacherClasses }), 'segmentation');
  const batch = tf.tidy(() => tf.div(tf.floor(tf.randomUniform([2, 32, 32, 3], 0, 256, 'float32', 11)), 255) as tf.Tensor4D);
  const classes = ['background', 'cat', 'dog'];
  const got = await teacher.segmenter(classes)(batch);
  const want = segmentationPredictor(model)(batch) as tf.Tensor4D;
  const [g, w] = [await got.data(), await want.data()];
  tf.dispose([batch, got, want]);
  model.dispose();
  await cache.close();
  const column = classes.map((c) => teacherClasses.indexOf(c));
  let max = 0;
  for (let p = 0; p < g.length / 3; p++) for (let c = 0; c < 3; c++) max = Math.max(max, Math.abs(g[p * 3 + c] - w[p * 3 + column[c]]));
  assert.ok(max < 1e-5, `max abs diff ${max}`);
});

test('a TF.js model with torchvision\'s three detector outputs teaches detection: boxes scaled to normalized corners, labels mapped by name', async () => {
  // Input [64, 64, 3]; boxes [3, 4] (pixels of the input), scores [3], labels [3]: dense layers with zero
  // kernels, their biases the outputs, so each is fixed.
  const x = tf.input({ shape: [64, 64, 3] });
  const flat = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  const fixed = (name: string, values: number[]) => tf.layers.dense({ name: `${name}_dense`, units: values.length, kernelInitializer: 'zeros', biasInitializer: tf.initializers.constant({ value: 0 }) }).apply(flat) as tf.SymbolicTensor;
  const boxesFlat = fixed('boxes', BOX_VALUES);
  const boxes = tf.layers.reshape({ name: 'boxes', targetShape: [3, 4] }).apply(boxesFlat) as tf.SymbolicTensor;
  const scores = tf.layers.activation({ name: 'scores', activation: 'linear' }).apply(fixed('scores', [0.9, 0.3, 0.8])) as tf.SymbolicTensor;
  const labels = tf.layers.activation({ name: 'labels', activation: 'linear' }).apply(fixed('labels', [3, 7, 1])) as tf.SymbolicTensor;
  const model = tf.model({ inputs: x, outputs: [boxes, scores, labels] });
  for (const [name, values] of [['boxes_dense', BOX_VALUES], ['scores_dense', [0.9, 0.3, 0.8]], ['labels_dense', [3, 7, 1]]] as const) {
    const layer = model.getLayer(name);
    const [kernel] = layer.getWeights();
    layer.setWeights([kernel, tf.tensor1d(values as number[])]);
  }
  const files = await layersFiles(model, 1);
  model.dispose();
  const store = new MemoryObjectStore();
  const cache = new TeacherModelCache(store, 1);
  const key = await putFiles(store, 'teachers/det', files);
  const teacherClasses = ['__background__', 'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'toaster'];
  const teacher = await cache.getDense(contract(key, files, { height: 64, width: 64 }, { output: { kind: 'boxes', name: '' }, classNames: teacherClasses }), 'detection');
  const batch = tf.fill([2, 32, 32, 3], 0.5) as tf.Tensor4D;
  const found = await teacher.detector(['background', 'car', 'person'])(batch);
  batch.dispose();
  await cache.close();
  const box = (i: number) => ({ xmin: BOX_VALUES[i * 4] / 64, ymin: BOX_VALUES[i * 4 + 1] / 64, xmax: BOX_VALUES[i * 4 + 2] / 64, ymax: BOX_VALUES[i * 4 + 3] / 64 });
  for (const image of found) {
    assert.deepEqual(image.map(({ score, ...b }) => b), [{ ...box(0), label: 1 }, { ...box(2), label: 2 }], 'car -> 1, person -> 2, toaster dropped');
    assert.deepEqual(image.map((d) => +d.score.toFixed(5)), [0.9, 0.8]);
  }
});

const BOX_VALUES = [8, 8, 40, 24, 0, 0, 10, 10, 2, 4, 30, 60];
