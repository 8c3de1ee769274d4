// The ONNX teacher runner on hand-built graphs (not selftrain's exporter): the declared preprocessing
// reaches the graph exactly (layout, channel order, resize, scale, mean/std), outputs become probabilities
// in the declared class order, and a graph that does not fit its contract is refused naming the field.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CorruptDataError, InputError, NotFoundError } from '@selftrain/errors';
import type { TeacherModel } from '@selftrain/proto';
import { S3ObjectStore, startEmbeddedS3, type EmbeddedS3 } from '@selftrain/storage';
import { writeTeacherInput } from './class-teacher';
import { OnnxTeacher } from './onnx-teacher';
import { TeacherModelCache } from './teacher-model-cache';
import { checkTeacherModel, mapTeacherClasses, teacherModelDigest } from './teacher-contract';
import { linearClassifierOnnx } from './testing/linear-onnx';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function contract(bytes: Uint8Array, over: Partial<TeacherModel> & { pre?: Partial<NonNullable<TeacherModel['preprocess']>> } = {}): TeacherModel {
  const { pre, ...rest } = over;
  return {
    source: 'onnx', model: { key: `teachers/onnx/${sha(bytes)}.onnx`, sha256: sha(bytes), sizeBytes: bytes.length },
    preprocess: { input: '', layout: 'NCHW', height: 2, width: 2, channelOrder: 'RGB', scale: 1 / 255, mean: [], std: [], ...pre },
    output: { kind: 'logits', name: '' }, classNames: ['a', 'b', 'c'], ...rest,
  };
}

// 2x2 RGB images; the model's 3 classes read the sum of channel 0, 1 or 2 (NCHW flattening).
const C = 3, H = 2, W = 2;
const weights = new Float32Array(3 * C * H * W);
for (let k = 0; k < 3; k++) for (let p = 0; p < H * W; p++) weights[k * C * H * W + k * H * W + p] = 1;
const bias = Float32Array.from([0, 0.5, -0.5]);
const image = (rgb: [number, number, number]) => ({ image: Uint8Array.from({ length: H * W * C }, (_, j) => rgb[j % 3]), height: H, width: W, channels: C });
const softmax = (z: number[]) => { const m = Math.max(...z); const e = z.map((v) => Math.exp(v - m)); const s = e.reduce((a, b) => a + b); return e.map((v) => v / s); };

test('logits become softmax probabilities of exactly the declared preprocessing, batched, in the dataset\'s class order', async () => {
  const bytes = linearClassifierOnnx({ channels: C, height: H, width: W, weights, bias });
  const teacher = await OnnxTeacher.open(bytes, checkTeacherModel(contract(bytes)));
  const images = [image([255, 0, 0]), image([0, 51, 0]), image([10, 20, 30])];
  const probs = await teacher.classProbabilities(images, { batchSize: 2 });
  images.forEach((img, i) => {
    const px = [img.image[0], img.image[1], img.image[2]].map((v) => (4 * v) / 255);
    const want = softmax([px[0] + 0, px[1] + 0.5, px[2] - 0.5]);
    want.forEach((p, k) => assert.ok(Math.abs(probs[i * 3 + k] - p) < 1e-6, `image ${i} class ${k}: ${probs[i * 3 + k]} vs ${p}`));
  });
  // The dataset lists the classes as c, a, b: each model output lands in its class's column.
  const map = mapTeacherClasses(['a', 'b', 'c'], ['c', 'a', 'b']);
  assert.deepEqual(map, [1, 2, 0]);
  const mapped = await teacher.classProbabilities(images, { classMap: map });
  for (let i = 0; i < images.length; i++) for (let k = 0; k < 3; k++) assert.equal(mapped[i * 3 + map[k]], probs[i * 3 + k]);
  // Temperature < 1 sharpens.
  const sharp = await teacher.classProbabilities([images[0]], { temperature: 0.5 });
  assert.ok(sharp[0] > probs[0]);
  await teacher.release();
});

test('NHWC, BGR, mean/std, a grey image on a 3-channel model and a resize all reach the graph as declared', () => {
  const p = { input: '', layout: 'NHWC', height: 2, width: 2, channelOrder: 'BGR', scale: 1 / 255, mean: [0.5, 0, 0], std: [0.5, 1, 2] };
  const rgb = { image: Uint8Array.from([255, 0, 51, 255, 0, 51, 255, 0, 51, 255, 0, 51]), height: 2, width: 2, channels: 3 };
  const out = new Float32Array(12);
  writeTeacherInput(out, rgb, p as never, 3);
  // Model channel 0 is B (51/255 = 0.2 -> (0.2 - 0.5) / 0.5), 1 is G (0), 2 is R (1 / 2).
  assert.deepEqual(Array.from(out.slice(0, 3), (v) => Math.round(v * 1e6) / 1e6), [-0.6, 0, 0.5]);
  const grey = { image: Uint8Array.from([0, 255, 255, 0]), height: 2, width: 2, channels: 1 };
  const nchw = new Float32Array(12);
  writeTeacherInput(nchw, grey, { ...p, layout: 'NCHW', channelOrder: 'RGB', mean: [], std: [] } as never, 3);
  assert.deepEqual(Array.from(nchw), [0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0]);
  // 2x2 -> 4x4, half-pixel centres: the corners keep their values, the middle is the average.
  const big = new Float32Array(16);
  writeTeacherInput(big, grey, { ...p, layout: 'NCHW', height: 4, width: 4, channelOrder: 'RGB', mean: [], std: [] } as never, 1);
  assert.equal(big[0], 0);
  assert.equal(big[3], 1);
  assert.ok(Math.abs(big[5] - 0.375) < 1e-6, `${big[5]}`);
});

test('probabilities outputs, named outputs and a graph with a fixed batch of 1 (torch.onnx.export without dynamic_axes)', async () => {
  const bytes = linearClassifierOnnx({ channels: C, height: H, width: W, weights, bias, softmax: true, batch: 1, inputName: 'pixel_values', outputName: 'probs' });
  const free = linearClassifierOnnx({ channels: C, height: H, width: W, weights, bias });
  const a = await OnnxTeacher.open(bytes, checkTeacherModel(contract(bytes, { output: { kind: 'probabilities', name: 'probs' }, pre: { input: 'pixel_values' } })));
  const b = await OnnxTeacher.open(free, checkTeacherModel(contract(free)));
  const images = [image([1, 2, 3]), image([200, 10, 0]), image([0, 0, 90])];
  const pa = await a.classProbabilities(images, { batchSize: 64 });
  const pb = await b.classProbabilities(images);
  pa.forEach((v, i) => assert.ok(Math.abs(v - pb[i]) < 1e-6));
  await Promise.all([a.release(), b.release()]);
});

test('a contract the graph does not fit, or a bad one, is an InputError naming the field', async () => {
  const bytes = linearClassifierOnnx({ channels: C, height: H, width: W, weights, bias });
  const refused = async (c: TeacherModel, field: string) => {
    await assert.rejects(async () => OnnxTeacher.open(bytes, checkTeacherModel(c)), (e: unknown) => e instanceof InputError && e.field === field);
  };
  await refused(contract(bytes, { pre: { input: 'x' } }), 'teacher_model.preprocess.input');
  await refused(contract(bytes, { pre: { height: 3 } }), 'teacher_model.preprocess.height');
  await refused(contract(bytes, { pre: { layout: 'NHWC' } }), 'teacher_model.preprocess.height');
  await refused(contract(bytes, { output: { kind: 'logits', name: 'y' } }), 'teacher_model.output.name');
  const teacher = await OnnxTeacher.open(bytes, checkTeacherModel(contract(bytes, { classNames: ['a', 'b'] })));
  await assert.rejects(teacher.classProbabilities([image([1, 1, 1])]), (e: unknown) => e instanceof InputError && e.field === 'teacher_model.class_names' && /\[1, 3\]/.test(e.message));
  await teacher.release();
  for (const [bad, field] of [
    [{ pre: { layout: 'CHW' } }, 'teacher_model.preprocess.layout'], [{ pre: { channelOrder: 'GRB' } }, 'teacher_model.preprocess.channel_order'],
    [{ pre: { scale: 0 } }, 'teacher_model.preprocess.scale'], [{ pre: { std: [1, 0, 1] } }, 'teacher_model.preprocess.std'],
    [{ output: { kind: 'softmax', name: '' } }, 'teacher_model.output.kind'], [{ source: 'pytorch' }, 'teacher_model.source'],
    [{ classNames: ['a', 'a', 'b'] }, 'teacher_model.class_names'], [{ model: { key: 'k', sha256: 'abc', sizeBytes: 0 } }, 'teacher_model.model.sha256'],
  ] as const) {
    assert.throws(() => checkTeacherModel(contract(bytes, bad as never)), (e: unknown) => e instanceof InputError && e.field === field, field);
  }
  assert.throws(() => mapTeacherClasses(['a', 'b', 'x'], ['a', 'b', 'c'], 'teacher.class_names'), /teacher\.class_names: the teacher's classes \[a, b, x\] are not the dataset's \[a, b, c\]/);
});

let home: string;
let s3: EmbeddedS3;
let store: S3ObjectStore;
before(async () => {
  home = mkdtempSync(path.join(tmpdir(), 'onnx-teacher-'));
  s3 = await startEmbeddedS3({ directory: home, port: 0 });
  store = await S3ObjectStore.connect(s3.config);
});
after(async () => {
  store?.close();
  await s3?.close();
  rmSync(home, { recursive: true, force: true });
});

test('the cache checks the bucket on every call: missing is NOT_FOUND, other bytes are DATA_LOSS; the digest follows the bytes', async () => {
  const bytes = linearClassifierOnnx({ channels: C, height: H, width: W, weights, bias });
  const c = checkTeacherModel(contract(bytes));
  const cache = new TeacherModelCache(store);
  await assert.rejects(cache.get(c), (e: unknown) => e instanceof NotFoundError && e.message.includes(c.model.key));
  await store.put(c.model.key, bytes);
  const first = await cache.get(c);
  assert.equal(await cache.get(c), first, 'opened once');
  const other = linearClassifierOnnx({ channels: C, height: H, width: W, weights, bias: Float32Array.from([1, 0, 0]) });
  await store.put(c.model.key, other);
  await assert.rejects(cache.get(c), (e: unknown) => e instanceof CorruptDataError && e.message.includes(c.model.key) && e.message.includes(sha(other)));
  // The key digest is the bytes' and the contract's, not the key's.
  const moved = checkTeacherModel({ ...contract(bytes), model: { ...c.model, key: 'elsewhere.onnx' } });
  assert.equal(teacherModelDigest(moved), teacherModelDigest(c));
  assert.notEqual(teacherModelDigest(checkTeacherModel(contract(other))), teacherModelDigest(c));
  assert.notEqual(teacherModelDigest(checkTeacherModel(contract(bytes, { pre: { scale: 1 } }))), teacherModelDigest(c));
  await first.release();
});
