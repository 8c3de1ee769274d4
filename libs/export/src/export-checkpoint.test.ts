// The default student (cnn-small, the student's width and options), trained for a few hundred steps on
// Fashion-MNIST, saved as a checkpoint, exported from the bucket in both formats and run on the whole test set.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend, tf } from '@selftrain/compute';
import { FASHION_MNIST_CLASS_NAMES, RECORD_FORMAT, manifestKey, readIdxImages, readIdxLabels } from '@selftrain/data';
import { InputError } from '@selftrain/errors';
import { buildModel } from '@selftrain/models';
import { DatasetManifest, RunRecord, onnx } from '@selftrain/proto';
import { MemoryObjectStore, loadModelFromBucket, saveModelToBucket } from '@selftrain/storage';
import { trainClassifier, trainDefaults, type Example } from '@selftrain/train';
import { checkpointKeyOf, checkpointOfRun, exportCheckpoint, parseExportFormat } from './export-checkpoint';
import { openOnnxSession, runOnnx } from './onnx-session';
import { FASHION_MNIST_DIR, fashionMnistTest } from './testing/real-images';
import { predictWithStockTfjs } from './testing/stock-tfjs-child';
import { maxAbsDiff } from './testing/zoo-cases';

const store = new MemoryObjectStore('export-test');
const CHECKPOINT = 'runs/fm/gen-0/student/checkpoints/best/model.json';
const TEST = fashionMnistTest(10_000);
let reference: Float32Array;
const dirs: string[] = [];

function argmax(logits: ArrayLike<number>, k: number): Int32Array {
  const out = new Int32Array(logits.length / k);
  for (let i = 0; i < out.length; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (logits[i * k + j] > logits[i * k + best]) best = j;
    out[i] = best;
  }
  return out;
}

function agreement(a: Int32Array, b: Int32Array): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

before(async () => {
  await initBackend({ purpose: 'train' });
  const images = readIdxImages(path.join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));
  const labels = readIdxLabels(path.join(FASHION_MNIST_DIR, 'train-labels-idx1-ubyte.gz'));
  const examples = (from: number, n: number): Example[] => Array.from({ length: n }, (_, i) => ({ image: images.data.slice((from + i) * 784, (from + i + 1) * 784), label: labels[from + i] }));
  const options = trainDefaults('classification', 'student');
  const model = buildModel({ name: 'cnn-small', inputShape: [28, 28, 1], numClasses: 10, width: options.width, dropout: options.dropout, seed: 11 });
  // 300 steps without augmentation: ~80 % top-1 in seconds, a model with confident and unsure predictions alike.
  const result = await trainClassifier({
    model, shape: { height: 28, width: 28, channels: 1 }, numClasses: 10, labeled: examples(0, 6000), validation: examples(59_000, 500), backend: 'wasm',
    options: { ...options, maxSteps: 300, evalEvery: 300, checkpointEvery: 1000, batchSize: 64, augment: 'none', warmupSteps: 20 },
    saveCheckpoint: async () => ({ key: 'unused', sha256: '', sizeBytes: 0 }),
  });
  assert.ok(result.bestValTop1 > 0.7, `trained to ${result.bestValTop1}`);
  await store.putJson(manifestKey('datasets/fm'), DatasetManifest.toJSON(DatasetManifest.fromPartial({
    name: 'fashion-mnist', classNames: [...FASHION_MNIST_CLASS_NAMES], height: 28, width: 28, channels: 1, recordFormat: RECORD_FORMAT,
    channelMean: [0.286], channelStd: [0.353],
  })));
  await saveModelToBucket(store, path.dirname(CHECKPOINT), model, { dataset: 'datasets/fm', model: 'cnn-small', width: options.width, role: 'student', kind: 'best', step: 300 });
  model.dispose();
  // The checkpoint as the platform loads it (what the labeler and evaluator run).
  const saved = await loadModelFromBucket(store, CHECKPOINT);
  const logits = saved.predict(tf.tensor4d(TEST.data, TEST.shape), { batchSize: 500 }) as tf.Tensor;
  reference = logits.dataSync() as Float32Array;
  tf.dispose([logits]);
  saved.dispose();
});

after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

test('the ONNX export of a trained default student gives the checkpoint\'s top-1 on >= 99.9 % of the Fashion-MNIST test set', async () => {
  const exported = await exportCheckpoint(store, CHECKPOINT, 'onnx');
  assert.deepEqual(exported.files.map((f) => f.name), ['model.onnx']);
  const session = await openOnnxSession(exported.files[0].bytes);
  const got = await runOnnx(session, { data: TEST.data, shape: TEST.shape });
  await session.release();
  const same = agreement(argmax(got.logits.data, 10), argmax(reference, 10));
  assert.ok(same >= 0.999, `top-1 agrees on ${(same * 100).toFixed(2)} %`);
  assert.ok(maxAbsDiff(got.logits.data, reference) <= 1e-4, `max abs diff ${maxAbsDiff(got.logits.data, reference)}`);
  const accuracy = agreement(argmax(got.logits.data, 10), Int32Array.from(TEST.labels));
  assert.ok(accuracy > 0.7, `the exported model is the trained one: top-1 ${accuracy}`);
});

test('the ONNX file carries the preprocessing and the checkpoint it came from as metadata_props', async () => {
  const exported = await exportCheckpoint(store, CHECKPOINT, 'onnx');
  const props = Object.fromEntries(onnx.ModelProto.decode(exported.files[0].bytes).metadataProps.map((p) => [p.key, p.value]));
  assert.equal(props.input_layout, 'NHWC');
  assert.equal(props.input_name, 'image');
  assert.deepEqual([props.input_height, props.input_width, props.channels, props.channel_order], ['28', '28', '1', 'L']);
  assert.equal(Number(props.pixel_scale), 1 / 255);
  assert.deepEqual(JSON.parse(props.class_names), [...FASHION_MNIST_CLASS_NAMES]);
  assert.ok(Math.abs(JSON.parse(props.channel_mean)[0] - 0.286) < 1e-6 && Math.abs(JSON.parse(props.channel_std)[0] - 0.353) < 1e-6);
  assert.equal(props.task, 'classification');
  assert.equal(props.checkpoint, CHECKPOINT);
  assert.match(props.checkpoint_sha256, /^[0-9a-f]{64}$/);
  assert.equal(props.checkpoint_role, 'student');
});

test('the stock TF.js export of the trained student agrees with the checkpoint on the whole test set', async () => {
  const exported = await exportCheckpoint(store, CHECKPOINT, 'tfjs');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'selftrain-export-'));
  dirs.push(dir);
  for (const f of exported.files) fs.writeFileSync(path.join(dir, f.name), f.bytes);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  assert.equal(json.userDefinedMetadata.checkpoint, CHECKPOINT);
  const [logits] = predictWithStockTfjs(dir, TEST);
  const same = agreement(argmax(logits, 10), argmax(reference, 10));
  assert.ok(same >= 0.999, `top-1 agrees on ${(same * 100).toFixed(2)} %`);
  assert.ok(maxAbsDiff(logits, reference) <= 1e-4, `max abs diff ${maxAbsDiff(logits, reference)}`);
});

test('bad input names what is wrong: unknown format, missing checkpoint, missing generation', async () => {
  assert.throws(() => parseExportFormat('pt'), (e: unknown) => e instanceof InputError && e.field === '--format' && /"pt"/.test(e.message));
  await assert.rejects(exportCheckpoint(store, 'runs/none/model.json', 'onnx'), (e: unknown) => e instanceof InputError && /runs\/none\/model.json/.test(e.message));
  const record = RunRecord.fromPartial({ runId: 'fm', generations: [{ index: 0, studentCheckpoint: { key: CHECKPOINT, sha256: 'x' } }, { index: 1 }] });
  assert.equal(checkpointOfRun(record).key, CHECKPOINT);
  assert.throws(() => checkpointOfRun(record, 3), (e: unknown) => e instanceof InputError && e.field === '--generation' && /no generation 3/.test(e.message));
  assert.throws(() => checkpointOfRun(record, 1), (e: unknown) => e instanceof InputError && /generation 1 .* no student checkpoint/.test(e.message));
  assert.equal(checkpointKeyOf('s3://a/b/model.json'), 'a/b/model.json');
  assert.equal(checkpointKeyOf('my-run'), undefined);
});
