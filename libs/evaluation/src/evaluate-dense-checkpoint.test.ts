import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTaskModel, detectorAnchors, ModelCache } from '@selftrain/checkpoints';
import { initBackend, tf } from '@selftrain/compute';
import { decodeMaskPng, loadManifest, manifestKey, readSplit, writeDataset, type ImageRecord } from '@selftrain/data';
import { InputError } from '@selftrain/errors';
import { DatasetManifest, DatasetTask, EvaluateRequest } from '@selftrain/proto';
import { S3ObjectStore, saveModelToBucket, startEmbeddedS3, type EmbeddedS3 } from '@selftrain/storage';
import { evaluateDetector, evaluateSegmenter, retinaNetDetector, segmentationPredictor, TEACHER_DEFAULTS } from '@selftrain/train';
import { evaluateCheckpoint, validateEvaluateRequest } from './evaluate-checkpoint';
import type { EvaluatorDeps } from './task-evaluator';
import { detectionEvalOptionsFromManifest } from './evaluate-detections';
import { segmentationEvalOptionsFromManifest } from './evaluate-segmentation';

// Untrained models: the response must carry what the library functions compute on the same split.
let dir: string;
let s3: EmbeddedS3;
let store: S3ObjectStore;
let deps: EvaluatorDeps;
const models: Record<'detector' | 'segmenter', { model: tf.LayersModel; key: string; sha256: string }> = {} as never;
const SIZE = 32;

const image = (seed: number, channels: number) => Uint8Array.from({ length: SIZE * SIZE * channels }, (_, i) => (i * 29 + seed * 67 + ((i * i) % 17) * 7) % 256);
const records = (n: number, channels: number, labels: (i: number) => Partial<ImageRecord>): ImageRecord[] =>
  Array.from({ length: n }, (_, i) => ({ key: `t${i}`, image: image(i, channels), height: SIZE, width: SIZE, channels, ...labels(i) }));

/** Sets the detector's class prior per class (its class-output bias), so an untrained detector scores near it. */
function setClassPrior(model: tf.LayersModel, prior: number[]): void {
  const layer = model.getLayer('class_subnet_output');
  const [kernel, bias] = layer.getWeights();
  const values = tf.tensor1d(Array.from({ length: bias.shape[0] }, (_, j) => Math.log(prior[j % prior.length] / (1 - prior[j % prior.length]))));
  layer.setWeights([kernel, values]);
  values.dispose();
}

before(async () => {
  delete process.env.SELFTRAIN_BACKEND;
  await initBackend({ purpose: 'infer' });
  dir = await mkdtemp(join(tmpdir(), 'evaluate-dense-test-'));
  s3 = await startEmbeddedS3({ directory: dir });
  store = await S3ObjectStore.connect(s3.config);
  deps = { store, models: new ModelCache(store), backend: 'test' };

  // Class b has no ground truth: its AP must come back as -1.
  const boxes = [
    [{ xmin: 0.1, ymin: 0.1, xmax: 0.6, ymax: 0.7, label: 1 }],
    [{ xmin: 0.3, ymin: 0.2, xmax: 0.9, ymax: 0.9, label: 1 }, { xmin: 0, ymin: 0, xmax: 0.3, ymax: 0.3, label: 1 }],
    [],
  ];
  await writeDataset(store, 'datasets/det', { name: 'det', source: 'test', task: 'detection', classNames: ['background', 'a', 'b'], height: SIZE, width: SIZE, channels: 1 }, [
    { name: 'labeled', labeled: true, records: records(1, 1, () => ({ objects: boxes[0] })) },
    { name: 'test', labeled: true, records: records(3, 1, (i) => ({ objects: boxes[i] })) },
  ], { shardSize: 2 });
  // Left half class 1, a band of ignore, the rest background; class 2 nowhere in the labels.
  const mask = Uint8Array.from({ length: SIZE * SIZE }, (_, p) => (p % SIZE < SIZE / 2 ? 1 : p % SIZE < SIZE / 2 + 4 ? 255 : 0));
  await writeDataset(store, 'datasets/seg', { name: 'seg', source: 'test', task: 'segmentation', classNames: ['background', 'a', 'b'], ignoreLabel: 255, height: SIZE, width: SIZE, channels: 3 }, [
    { name: 'labeled', labeled: true, records: records(1, 3, () => ({ mask })) },
    { name: 'test', labeled: true, records: records(3, 3, (i) => ({ mask, ...(i === 0 ? { sourceId: 'img/001' } : {}) })) },
  ], { shardSize: 2 });

  const options = { ...TEACHER_DEFAULTS, width: 0.25, seed: 5 };
  const detector = buildTaskModel({ ...options, model: 'retinanet' }, { height: SIZE, width: SIZE, channels: 1 }, 3, 'detection');
  // Both classes score around 0.3, over evaluation's 0.05 cut: the detector reports boxes of each.
  setClassPrior(detector, [0.3, 0.3]);
  const segmenter = buildTaskModel({ ...options, model: 'segmenter' }, { height: SIZE, width: SIZE, channels: 3 }, 3, 'segmentation');
  for (const [name, model] of [['detector', detector], ['segmenter', segmenter]] as const) {
    const art = await saveModelToBucket(store, `ckpt/${name}`, model);
    models[name] = { model, key: art.key, sha256: art.sha256 };
  }
});

after(async () => {
  store?.close();
  await s3?.close();
  await rm(dir, { recursive: true, force: true });
});

const evaluate = (dataset: string, checkpoint: string, predictionsPrefix = '') =>
  evaluateCheckpoint(deps, validateEvaluateRequest(EvaluateRequest.fromPartial({ checkpoint, dataset, split: 'test', predictionsPrefix })));

test('detection: COCO box AP of the split as evaluateDetector computes it, and the COCO results JSON under predictions_prefix', async () => {
  const res = await evaluate('datasets/det', models.detector.key, 'runs/r/eval/det');
  const manifest = await loadManifest(store, 'datasets/det');
  const split = await readSplit(store, manifest, 'test');
  // the model as the evaluator runs it: the cache's inference form (batch norm folded into the convs)
  const { model } = await deps.models.get(models.detector.key);
  const lib = await evaluateDetector(split, retinaNetDetector(model, detectorAnchors(model)), detectionEvalOptionsFromManifest(manifest));
  const e = lib.evaluation;
  assert.ok(e.detections > 0, 'the detector reports boxes: the comparison has content');
  assert.deepEqual(res.detection, {
    ap: e.ap, ap50: e.ap50, ap75: e.ap75, apSmall: e.apSmall, apMedium: e.apMedium, apLarge: e.apLarge, ar100: e.ar100,
    apPerClass: [e.perClass[0].ap, -1], detections: e.detections,
  });
  assert.ok(res.detection!.apPerClass[0] >= 0);
  assert.equal(res.segmentation, undefined);
  assert.deepEqual(
    [res.count, res.numClasses, res.classNames, res.checkpointSha256, res.backend, res.top1, res.confusion, res.perClassAccuracy, res.confidentCount],
    [3, 3, ['background', 'a', 'b'], models.detector.sha256, 'test', 0, [], [], 0],
  );
  assert.equal(res.predictions!.key, 'runs/r/eval/det/detections.json');
  const results = await store.getJson<{ image_id: number; category_id: number; bbox: number[]; score: number }[]>(res.predictions!.key);
  assert.deepEqual(results, lib.results);
  assert.equal(results.length, e.detections);
  assert.deepEqual(new Set(results.map((r) => r.image_id)), new Set([1, 2, 3]));

  const plain = await evaluate('datasets/det', models.detector.key);
  assert.equal(plain.predictions, undefined, 'nothing written without predictions_prefix');
  assert.deepEqual(plain.detection, res.detection);
});

test('segmentation: single-scale mIoU as evaluateSegmenter computes it, and palette PNG masks with an index under predictions_prefix', async () => {
  const res = await evaluate('datasets/seg', models.segmenter.key, 'runs/r/eval/seg');
  const manifest = await loadManifest(store, 'datasets/seg');
  const split = await readSplit(store, manifest, 'test');
  const lib = await evaluateSegmenter(split, segmentationPredictor(models.segmenter.model), segmentationEvalOptionsFromManifest(manifest));
  const e = lib.evaluation;
  assert.deepEqual(res.segmentation, { meanIou: e.meanIou, pixelAccuracy: e.pixelAccuracy, iouPerClass: e.perClass.map((c) => c.iou ?? -1) });
  assert.equal(res.segmentation!.iouPerClass.length, 3);
  assert.ok(res.segmentation!.pixelAccuracy > 0 && res.segmentation!.pixelAccuracy < 1);
  assert.deepEqual([res.count, res.numClasses, res.checkpointSha256, res.top1, res.confusion, res.detection], [3, 3, models.segmenter.sha256, 0, [], undefined]);

  assert.equal(res.predictions!.key, 'runs/r/eval/seg/masks.json');
  const index = await store.getJson<{ split: string; checkpointSha256: string; masks: { key: string; sourceId?: string; mask: string }[] }>(res.predictions!.key);
  assert.deepEqual([index.split, index.checkpointSha256], ['test', models.segmenter.sha256]);
  assert.deepEqual(index.masks.map((m) => [m.key, m.sourceId, m.mask]), [
    ['t0', 'img/001', 'runs/r/eval/seg/masks/img_001.png'], ['t1', undefined, 'runs/r/eval/seg/masks/t1.png'], ['t2', undefined, 'runs/r/eval/seg/masks/t2.png'],
  ]);
  for (const [i, m] of index.masks.entries()) {
    const decoded = decodeMaskPng(await store.get(m.mask));
    assert.deepEqual([decoded.height, decoded.width], [SIZE, SIZE]);
    assert.deepEqual(decoded.mask, lib.masks[i], `mask ${m.mask} is the predicted one`);
  }
});

test('a checkpoint of another task, a bad predictions_prefix, and predictions for a classification dataset are INVALID_ARGUMENT naming the field', async () => {
  const field = (name: string) => (err: unknown) => err instanceof InputError && err.field === name;
  await assert.rejects(evaluate('datasets/det', models.segmenter.key), field('checkpoint'));
  await assert.rejects(evaluate('datasets/seg', models.detector.key), field('checkpoint'));
  assert.throws(() => validateEvaluateRequest(EvaluateRequest.fromPartial({ checkpoint: 'c', dataset: 'd', predictionsPrefix: 'runs/../x' })), field('predictions_prefix'));
  const manifest = await loadManifest(store, 'datasets/det');
  await store.putJson(manifestKey('datasets/cls'), DatasetManifest.toJSON({ ...manifest, task: DatasetTask.DATASET_TASK_CLASSIFICATION }));
  await assert.rejects(evaluate('datasets/cls', models.detector.key, 'runs/r/eval/cls'), field('predictions_prefix'));
});
