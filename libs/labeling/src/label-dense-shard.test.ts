import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTaskModel, detectorAnchors, ModelCache } from '@selftrain/checkpoints';
import { initBackend, tf } from '@selftrain/compute';
import { loadManifest, readShard, writeDataset, writeShard, type ImageRecord } from '@selftrain/data';
import { InputError } from '@selftrain/errors';
import { silentLogger } from '@selftrain/logger';
import { LabelingOptions, LabelShardRequest } from '@selftrain/proto';
import { S3ObjectStore, saveModelToBucket, startEmbeddedS3, type EmbeddedS3 } from '@selftrain/storage';
import { retinaNetDetector, segmentationPredictor, TEACHER_DEFAULTS } from '@selftrain/train';
import { detectionShardOptions, denseShardOptions, segmentationShardOptions } from './dense-shard-options';
import { assertEnoughPseudoBoxes } from './dense-pseudo-label-guards';
import { labelDetectionRecords, labelingDecodeOptions } from './label-detection-records';
import { labelSegmentationRecords } from './label-segmentation-records';
import { labelShard, validateLabelShardRequest } from './label-shard';
import type { LabelerDeps } from './task-labeler';

// Untrained models: these tests are about the plumbing (options in, records and stats out, reuse),
// so the expected output is the library functions' on the same records and options.
let dir: string;
let s3: EmbeddedS3;
let store: S3ObjectStore;
let deps: LabelerDeps;
const models: Record<'detector' | 'segmenter', { model: tf.LayersModel; key: string }> = {} as never;
const SIZE = 32;

/** Sets the detector's class prior per class (its class-output bias), so an untrained detector scores near it. */
function setClassPrior(model: tf.LayersModel, prior: number[]): void {
  const layer = model.getLayer('class_subnet_output');
  const [kernel, bias] = layer.getWeights();
  const values = tf.tensor1d(Array.from({ length: bias.shape[0] }, (_, j) => Math.log(prior[j % prior.length] / (1 - prior[j % prior.length]))));
  layer.setWeights([kernel, values]);
  values.dispose();
}

const image = (seed: number, channels: number) => Uint8Array.from({ length: SIZE * SIZE * channels }, (_, i) => (i * 37 + seed * 101 + ((i * i) % 13) * 11) % 256);
const records = (prefix: string, n: number, channels: number, labels: (i: number) => Partial<ImageRecord>): ImageRecord[] =>
  Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i}`, image: image(i, channels), height: SIZE, width: SIZE, channels, ...labels(i) }));

before(async () => {
  delete process.env.SELFTRAIN_BACKEND;
  await initBackend({ purpose: 'infer' });
  dir = await mkdtemp(join(tmpdir(), 'label-dense-shard-test-'));
  s3 = await startEmbeddedS3({ directory: dir });
  store = await S3ObjectStore.connect(s3.config);
  deps = { store, models: new ModelCache(store), backend: 'test', logger: silentLogger };

  const box = { xmin: 0.1, ymin: 0.1, xmax: 0.6, ymax: 0.7, label: 1 };
  await writeDataset(store, 'datasets/det', { name: 'det', source: 'test', task: 'detection', classNames: ['background', 'a', 'b'], height: SIZE, width: SIZE, channels: 1 }, [
    { name: 'labeled', labeled: true, records: records('l', 2, 1, () => ({ objects: [box] })) },
    { name: 'unlabeled', labeled: false, records: records('u', 3, 1, () => ({})) },
  ], { shardSize: 3 });
  await writeDataset(store, 'datasets/seg', { name: 'seg', source: 'test', task: 'segmentation', classNames: ['background', 'a', 'b'], ignoreLabel: 255, height: SIZE, width: SIZE, channels: 3 }, [
    { name: 'labeled', labeled: true, records: records('l', 2, 3, () => ({ mask: new Uint8Array(SIZE * SIZE).fill(1) })) },
    { name: 'unlabeled', labeled: false, records: records('u', 3, 3, () => ({})) },
  ], { shardSize: 3 });

  const options = { ...TEACHER_DEFAULTS, width: 0.25, seed: 3 };
  const detector = buildTaskModel({ ...options, model: 'retinanet' }, { height: SIZE, width: SIZE, channels: 1 }, 3, 'detection');
  // Class a scores around 0.55, class b at the usual 0.01 (under the detector's 0.05 candidate cut).
  setClassPrior(detector, [0.55, 0.01]);
  const segmenter = buildTaskModel({ ...options, model: 'segmenter' }, { height: SIZE, width: SIZE, channels: 3 }, 3, 'segmentation');
  models.detector = { model: detector, key: (await saveModelToBucket(store, 'ckpt/det', detector)).key };
  models.segmenter = { model: segmenter, key: (await saveModelToBucket(store, 'ckpt/seg', segmenter)).key };
});

after(async () => {
  store?.close();
  await s3?.close();
  await rm(dir, { recursive: true, force: true });
});

async function unlabeledShard(dataset: string) {
  const manifest = await loadManifest(store, dataset);
  const shard = manifest.splits.find((s) => s.name === 'unlabeled')!.shards[0];
  return { manifest, shard, records: readShard(await store.get(shard.key), shard.key) };
}

function request(dataset: string, checkpoint: string, shard: string, outputPrefix: string, options: Partial<LabelingOptions>) {
  return validateLabelShardRequest(LabelShardRequest.fromPartial({ checkpoint, dataset, shard, outputPrefix, options }));
}

/** What the shard holds after a write and a read: floats as float32, PNGs re-read. */
const roundTrip = (rs: ImageRecord[]) => readShard(writeShard(rs), 'expected');

test('detection: boxes (Soft-NMS, the requested threshold) land in a pseudo shard in the human record format; stats follow the proto; a second call is reused', async () => {
  const { shard, records: input } = await unlabeledShard('datasets/det');
  // Candidates score around 0.55; Soft-NMS decays the overlapping ones, some under the threshold.
  const opts = { threshold: 0.52, softNms: true };
  const res = await labelShard(deps, request('datasets/det', models.detector.key, shard.key, 'runs/r/pseudo-det', opts));
  assert.equal(res.reused, false);

  const o = detectionShardOptions(denseShardOptions(LabelingOptions.fromPartial(opts)));
  assert.equal(o.nms, 'soft-nms');
  // the model as the labeler runs it: the cache's inference form (batch norm folded into the convs)
  const { model } = await deps.models.get(models.detector.key);
  const expected = await labelDetectionRecords(input, retinaNetDetector(model, detectorAnchors(model), labelingDecodeOptions(o)), 3, o);
  const written = readShard(await store.get(res.output!.key), res.output!.key);
  assert.deepEqual(written, roundTrip(expected.records));
  assert.ok(expected.stats.boxes > 0 && expected.stats.droppedPerClass[1] > 0, 'boxes kept and dropped: the comparison has content');
  for (const r of written) {
    assert.equal(r.label, undefined);
    assert.equal(r.mask, undefined);
    for (const b of r.objects!) assert.ok(b.label >= 1 && b.label <= 2 && b.xmin >= 0 && b.xmin < b.xmax && b.xmax <= 1 && b.ymin < b.ymax);
  }

  const s = res.labelStats!;
  const boxes = written.reduce((n, r) => n + r.objects!.length, 0);
  assert.deepEqual(
    [s.records, s.kept, s.dropped, s.boxes, s.imagesWithBoxes, s.pixels, s.ignoredPixels, s.duplicated],
    [3, 3, 0, boxes, expected.stats.imagesWithBoxes, 0, 0, 0],
  );
  assert.deepEqual(s.keptPerClass, expected.stats.keptPerClass);
  assert.equal(s.keptPerClass.reduce((a, b) => a + b, 0), boxes);
  assert.deepEqual(s.droppedPerClass, expected.stats.droppedPerClass);
  assert.deepEqual(s.confidenceHistogram, expected.stats.scoreHistogram);
  assert.equal(res.output!.records, written.length);
  const stats = await store.getJson<{ task: string; detection: { candidates: number }; options: { nms: string; threshold: number } }>(res.stats!.key);
  assert.deepEqual([stats.task, stats.options.nms, stats.options.threshold, stats.detection.candidates], ['detection', 'soft-nms', 0.52, expected.stats.candidates]);

  const again = await labelShard(deps, request('datasets/det', models.detector.key, shard.key, 'runs/r/pseudo-det', opts));
  assert.equal(again.reused, true);
  assert.deepEqual(again.output, res.output);
  assert.deepEqual(again.labelStats, res.labelStats);

  // The dense options are in the digest: plain NMS is another output.
  const nms = await labelShard(deps, request('datasets/det', models.detector.key, shard.key, 'runs/r/pseudo-det', { threshold: 0.52 }));
  assert.equal(nms.reused, false);
  assert.notEqual(nms.output!.key, res.output!.key);
});

test('detection: a shard that keeps nothing is written, not refused (drop_empty_images leaves it empty); the driver guard is what refuses', async () => {
  const { shard } = await unlabeledShard('datasets/det');
  const res = await labelShard(deps, request('datasets/det', models.detector.key, shard.key, 'runs/r/pseudo-det', { threshold: 0.99, dropEmptyImages: true }));
  const s = res.labelStats!;
  assert.deepEqual([s.records, s.kept, s.dropped, s.boxes, s.imagesWithBoxes, res.output!.records], [3, 0, 3, 0, 0, 0]);
  assert.deepEqual(readShard(await store.get(res.output!.key), res.output!.key), []);
  assert.throws(() => assertEnoughPseudoBoxes({ images: Number(s.records), imagesWithBoxes: Number(s.imagesWithBoxes), boxes: Number(s.boxes) }));
});

test('segmentation: multi-scale masks with the manifest ignore label; pixel stats; reuse', async () => {
  const { manifest, shard, records: input } = await unlabeledShard('datasets/seg');
  // Three classes at init sit near 1/3 each: 0.34 keeps some pixels and ignores others.
  const opts = { threshold: 0.34, scales: [0.5, 1] };
  const res = await labelShard(deps, request('datasets/seg', models.segmenter.key, shard.key, 'runs/r/pseudo-seg', opts));
  assert.equal(res.reused, false);

  const o = segmentationShardOptions(denseShardOptions(LabelingOptions.fromPartial(opts)), manifest.ignoreLabel);
  assert.deepEqual([o.scales, o.ignoreLabel], [[0.5, 1], 255]);
  const expected = await labelSegmentationRecords(input, segmentationPredictor(models.segmenter.model, o.scales), 3, o);
  const written = readShard(await store.get(res.output!.key), res.output!.key);
  assert.deepEqual(written, roundTrip(expected.records));
  for (const r of written) {
    assert.equal(r.mask!.length, SIZE * SIZE);
    assert.equal(r.objects, undefined);
    assert.ok(r.mask!.every((v) => v <= 2 || v === 255));
  }

  const s = res.labelStats!;
  const ignored = written.reduce((n, r) => n + r.mask!.filter((v) => v === 255).length, 0);
  assert.deepEqual([s.records, s.kept, s.dropped, s.pixels, s.ignoredPixels, s.boxes], [3, 3, 0, 3 * SIZE * SIZE, ignored, 0]);
  assert.ok(ignored > 0 && ignored < 3 * SIZE * SIZE, `some pixels kept and some ignored (${ignored})`);
  assert.deepEqual(s.keptPerClass, expected.stats.pixelsPerClass);
  assert.equal(s.keptPerClass.reduce((a, b) => a + b, 0) + ignored, s.pixels);
  assert.deepEqual(s.confidenceHistogram, expected.stats.confidenceHistogram);

  const again = await labelShard(deps, request('datasets/seg', models.segmenter.key, shard.key, 'runs/r/pseudo-seg', opts));
  assert.deepEqual([again.reused, again.output], [true, res.output]);
});

test('dense datasets refuse the options of other tasks, and checkpoints of another task, naming the field', async () => {
  const det = (await unlabeledShard('datasets/det')).shard.key;
  const seg = (await unlabeledShard('datasets/seg')).shard.key;
  const refused = async (dataset: string, checkpoint: string, shard: string, options: Partial<LabelingOptions>, field: string) => {
    await assert.rejects(labelShard(deps, request(dataset, checkpoint, shard, 'runs/r/x', options)), (err: unknown) => err instanceof InputError && err.field === field);
  };
  await refused('datasets/det', models.detector.key, det, { soft: true }, 'options.soft');
  await refused('datasets/seg', models.segmenter.key, seg, { balance: true, perClassCap: 5 }, 'options.balance');
  await refused('datasets/det', models.detector.key, det, { scales: [1] }, 'options.scales');
  await refused('datasets/seg', models.segmenter.key, seg, { softNms: true }, 'options.soft_nms');
  await refused('datasets/seg', models.detector.key, seg, {}, 'checkpoint');
  await refused('datasets/det', models.segmenter.key, det, {}, 'checkpoint');
  assert.throws(() => request('datasets/seg', 'c', seg, 'o', { scales: [1, 4.5] }), (err: unknown) => err instanceof InputError && err.field === 'options.scales[1]');
  assert.throws(() => request('datasets/seg', 'c', seg, 'o', { scales: [0.5, -1] }), /options\.scales\[1\]/);
});
