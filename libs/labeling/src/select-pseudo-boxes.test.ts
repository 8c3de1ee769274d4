import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeImageExample, readShard, writeShard, type ImageRecord } from '@selftrain/data';
import { FailedPreconditionError } from '@selftrain/errors';
import type { ScoredBox } from '@selftrain/metrics';
import { Example } from '@selftrain/proto';
import { resolveDetectionLabelingOptions } from './dense-labeling-options';
import { assertEnoughPseudoBoxes } from './dense-pseudo-label-guards';
import { humanBoxesPerImage, mergeDetectionLabelStats, pseudoLabelDetections, selectPseudoBoxes } from './select-pseudo-boxes';

const image = (key: string, size = 4): ImageRecord => ({ key, image: new Uint8Array(size * size).fill(7), height: size, width: size, channels: 1 });
const det = (score: number, label = 1, xmin = 0.1, ymin = 0.1, xmax = 0.5, ymax = 0.5): ScoredBox => ({ xmin, ymin, xmax, ymax, score, label });
// 3 classes: background, 1, 2 (the manifest's class_names).
const K = 3;

test('options: defaults are the paper\'s; bad values name the field', () => {
  const o = resolveDetectionLabelingOptions();
  assert.deepEqual(o, { threshold: 0.4, nms: 'nms', iouThreshold: 0.5, softNmsSigma: 0.3, dropEmptyImages: false, maxDetections: 100, batchSize: 16 });
  assert.equal(resolveDetectionLabelingOptions({ nms: 'soft-nms', threshold: 0.7 }).threshold, 0.7);
  assert.throws(() => resolveDetectionLabelingOptions({ threshold: 1.5 }), /options\.threshold/);
  assert.throws(() => resolveDetectionLabelingOptions({ nms: 'greedy' as never }), /options\.nms/);
  assert.throws(() => resolveDetectionLabelingOptions({ maxDetections: 2.5 }), /options\.max_detections/);
});

test('a box is kept at score >= threshold: 0.5 stays, just under goes; boxes are clipped into the image', () => {
  const kept = selectPseudoBoxes([det(0.5), det(0.4999999), det(0.9, 2, -0.1, 0.2, 1.2, 0.8), det(0.95, 1, 1.1, 0, 1.3, 0.5)], 0.5);
  assert.deepEqual(kept, [
    { xmin: 0.1, ymin: 0.1, xmax: 0.5, ymax: 0.5, label: 1 },
    { xmin: 0, ymin: 0.2, xmax: 1, ymax: 0.8, label: 2 },
    // the last box lay wholly outside the image: clipped to nothing, no object
  ]);
});

test('per-shard statistics: images, kept images, boxes per image, per-class counts, score histogram', () => {
  const records = [image('a'), image('b'), image('c'), image('d')];
  const detections = [
    [det(0.9, 1), det(0.6, 2), det(0.3, 2)], // two kept, one under
    [det(0.45, 1)], // nothing kept: background
    [], // no detection at all
    [det(1, 2), det(0.05, 1)],
  ];
  const { records: out, stats } = pseudoLabelDetections(records, detections, K, resolveDetectionLabelingOptions({ threshold: 0.5 }), [
    { key: 'h1', objects: [{ xmin: 0, ymin: 0, xmax: 1, ymax: 1, label: 1 }, { xmin: 0, ymin: 0, xmax: 1, ymax: 1, label: 2 }] },
    { key: 'h2', objects: [] },
  ]);
  assert.deepEqual(out.map((r) => [r.key, r.objects!.map((b) => b.label)]), [['a', [1, 2]], ['b', []], ['c', []], ['d', [2]]]);
  assert.deepEqual(stats, {
    images: 4, imagesWithBoxes: 2, keptImages: 4, droppedImages: 0, boxes: 3, candidates: 6, boxesPerImage: 0.75,
    humanBoxesPerImage: 1, keptPerClass: [0, 1, 2], droppedPerClass: [0, 2, 1],
    // scores .9 .6 .3 .45 1 .05 -> bins 9, 6, 3, 4, 9 (1.0 goes to the last bin), 0
    scoreHistogram: [1, 0, 0, 1, 1, 0, 1, 0, 0, 2],
  });
});

test('an image without a kept box is written as background or dropped, by option', () => {
  const records = [image('a'), image('b')];
  const detections = [[det(0.2)], [det(0.8)]];
  const keep = pseudoLabelDetections(records, detections, K, resolveDetectionLabelingOptions({ dropEmptyImages: false }));
  assert.deepEqual(keep.records.map((r) => [r.key, r.objects!.length]), [['a', 0], ['b', 1]]);
  assert.deepEqual([keep.stats.keptImages, keep.stats.droppedImages], [2, 0]);
  const drop = pseudoLabelDetections(records, detections, K, resolveDetectionLabelingOptions({ dropEmptyImages: true }));
  assert.deepEqual(drop.records.map((r) => r.key), ['b']);
  assert.deepEqual([drop.stats.keptImages, drop.stats.droppedImages, drop.stats.imagesWithBoxes], [1, 1, 1]);
});

test('pseudo records are in the human detection record format and survive a shard round trip', () => {
  const human: ImageRecord = { ...image('h'), objects: [{ xmin: 0.25, ymin: 0.25, xmax: 0.75, ymax: 0.5, label: 2 }] };
  const unlabeled: ImageRecord = { ...image('u'), sourceId: '42' };
  const { records } = pseudoLabelDetections([unlabeled], [[det(0.75, 2, 0.25, 0.25, 0.75, 0.5)]], K, resolveDetectionLabelingOptions());
  const [back] = readShard(writeShard(records), 'pseudo');
  assert.deepEqual(back.objects, human.objects);
  assert.equal(back.sourceId, '42');
  assert.deepEqual([back.label, back.confidence, back.probabilities, back.mask], [undefined, undefined, undefined, undefined]);
  // The same tf.train.Example keys as a human-labeled record (plus the source id this one carries).
  const keysOf = (r: ImageRecord) => Object.keys(Example.decode(encodeImageExample(r)).features!.feature).sort();
  assert.deepEqual(keysOf(records[0]).filter((k) => k !== 'image/source_id'), keysOf(human));
});

test('a detection label outside the foreground classes is refused', () => {
  assert.throws(() => pseudoLabelDetections([image('a')], [[det(0.9, 0)]], K, resolveDetectionLabelingOptions()), /label 0/);
  assert.throws(() => pseudoLabelDetections([image('a')], [[det(0.9, 3)]], K, resolveDetectionLabelingOptions()), /label 3/);
  assert.throws(() => humanBoxesPerImage([{ key: 'x' }]), /human_records/);
});

test('shard statistics merge into the split\'s', () => {
  const o = resolveDetectionLabelingOptions();
  const a = pseudoLabelDetections([image('a'), image('b')], [[det(0.9, 1)], []], K, o, [{ key: 'h', objects: [] }]).stats;
  const b = pseudoLabelDetections([image('c')], [[det(0.8, 2), det(0.7, 2)]], K, o).stats;
  const m = mergeDetectionLabelStats(a, b);
  assert.deepEqual([m.images, m.imagesWithBoxes, m.boxes, m.boxesPerImage, m.humanBoxesPerImage], [3, 2, 3, 1, 0]);
  assert.deepEqual(m.keptPerClass, [0, 1, 2]);
});

test('the guard: a teacher that puts a box on (almost) no image is an error, not an empty student', () => {
  const o = resolveDetectionLabelingOptions();
  const records = Array.from({ length: 200 }, (_, i) => image(`r${i}`));
  const none = pseudoLabelDetections(records, records.map(() => [det(0.3)]), K, o).stats;
  assert.throws(() => assertEnoughPseudoBoxes(none), (e: unknown) =>
    e instanceof FailedPreconditionError && /kept 0 boxes, on 0 of 200 images/.test(e.message) && /labeling\.threshold/.test(e.message));
  // One image in 200 is 0.5%: under the default 1%; two are exactly 1%: enough.
  const one = pseudoLabelDetections(records, records.map((_, i) => (i < 1 ? [det(0.9)] : [])), K, o).stats;
  assert.throws(() => assertEnoughPseudoBoxes(one), FailedPreconditionError);
  const two = pseudoLabelDetections(records, records.map((_, i) => (i < 2 ? [det(0.9)] : [])), K, o).stats;
  assertEnoughPseudoBoxes(two);
  assertEnoughPseudoBoxes(one, 0.005);
  assertEnoughPseudoBoxes(pseudoLabelDetections([], [], K, o).stats); // nothing to label is not the teacher's fault
});
