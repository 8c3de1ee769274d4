import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend } from '@selftrain/compute';
import type { Box } from '@selftrain/augment';
import type { ScoredBox } from '@selftrain/metrics';
import { buildRetinaNet, retinaNetAnchors } from '@selftrain/models';
import { retinaNetDetector, type DetectFn } from './dense-predictors';
import { cocoImageIds, evaluateDetector, scoreDetections, type DetectionRecord } from './score-detections';

before(async () => {
  delete process.env.SELFTRAIN_BACKEND;
  assert.equal((await initBackend({ purpose: 'infer' })).name, 'wasm');
});

// Precision is tp / (tp + fp + eps) as in pycocotools, so a perfect AP is 1 - 2e-16.
const close = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} != ${expected}`);
const S = 200;
const px = (x: number, y: number, w: number, h: number, label: number, extra: Partial<Box> = {}): Box =>
  ({ xmin: x / S, ymin: y / S, xmax: (x + w) / S, ymax: (y + h) / S, label, ...extra });
const rec = (key: string, objects: Box[], sourceId?: string): DetectionRecord =>
  ({ key, image: new Uint8Array(S * S), height: S, width: S, channels: 1, objects, ...(sourceId === undefined ? {} : { sourceId }) });
const asDetection = (b: Box, score: number): ScoredBox => ({ xmin: b.xmin, ymin: b.ymin, xmax: b.xmax, ymax: b.ymax, label: b.label, score });
// background + 2 classes; COCO ids 7 and 3 (sparse, out of order), as a manifest gives them.
const fromManifest = { numClasses: 3, classNames: ['background', 'shirt', 'shoe'], categoryIds: [0, 7, 3] };

test('perfect detections: AP = AP50 = AP75 = APs/m/l = AR100 = 1; results JSON in pixels and COCO ids', () => {
  // Areas 20x20 = 400 (small), 50x50 = 2500 (medium), 120x120 = 14400 (large).
  const records = [rec('a', [px(10, 10, 20, 20, 1), px(60, 60, 120, 120, 2)], '42'), rec('b', [px(100, 20, 50, 50, 2)], '43')];
  const detections = records.map((r) => r.objects!.map((b) => asDetection(b, 0.9)));
  const { evaluation: e, results, imageIds } = scoreDetections(records, detections, fromManifest);
  for (const k of ['ap', 'ap50', 'ap75', 'apSmall', 'apMedium', 'apLarge', 'ar1', 'ar10', 'ar100'] as const) close(e[k], 1, k);
  assert.deepEqual(e.perClass.map((c) => [c.label, c.categoryId, c.className]), [[1, 7, 'shirt'], [2, 3, 'shoe']]);
  e.perClass.forEach((c) => close(c.ap, 1, c.className));
  assert.deepEqual([e.images, e.groundTruthBoxes, e.crowdBoxes, e.detections], [2, 3, 0, 3]);
  assert.deepEqual(imageIds, [42, 43]);
  assert.equal(results.length, 3);
  const r0 = results[0];
  assert.deepEqual([r0.image_id, r0.category_id, r0.score], [42, 7, 0.9]);
  r0.bbox.forEach((v, i) => close(v, [10, 10, 20, 20][i], `bbox[${i}]`));
  assert.deepEqual(results.map((r) => r.category_id), [7, 3, 3]);
});

test('hand-worked: one hit, one false positive, one miss -> AP 51/101 at every IoU; a detection in a crowd region is ignored', () => {
  const gtA = px(10, 10, 40, 40, 1);
  const gtB = px(120, 120, 40, 40, 1);
  const crowd = px(0, 100, 100, 100, 1, { isCrowd: true });
  const records = [rec('a', [gtA, gtB, crowd])];
  const detections = [[
    asDetection(px(60, 60, 20, 20, 1), 0.5), // matches nothing: FP
    asDetection(gtA, 0.9), // TP
    asDetection(px(10, 120, 30, 30, 1), 0.95), // inside the crowd box: neither TP nor FP
  ]];
  // Sorted: crowd (.95, ignored), TP (.9), FP (.5). Recall [.5, .5], precision [1, .5] -> envelope [1, .5];
  // recall points 0 .. .50 (51 of 101) read precision 1; above .5 recall is never reached: 0.
  const { evaluation: e } = scoreDetections(records, detections, { numClasses: 2 });
  for (const k of ['ap', 'ap50', 'ap75'] as const) close(e[k], 51 / 101, k);
  close(e.ar100, 0.5, 'ar100');
  assert.deepEqual([e.groundTruthBoxes, e.crowdBoxes], [2, 1]);
  // Counted as a false positive instead (no crowd flag), the precision at recall .5 would drop to 1/2.
  const noCrowd = scoreDetections([rec('a', [gtA, gtB])], detections, { numClasses: 2 }).evaluation;
  close(noCrowd.ap, (51 * 0.5) / 101, 'ap without the crowd region');
});

test('at most 100 detections per image count, over all classes, the highest scores first', () => {
  const gt = px(10, 10, 40, 40, 1);
  // 100 confident misses of class 2, then the hit of class 1 at a low score. COCOeval alone caps per
  // image *and category* (it would keep the hit); the COCO results rule is 100 per image in all.
  const misses = Array.from({ length: 100 }, (_, i) => asDetection(px(100 + (i % 10) * 5, 100 + Math.floor(i / 10) * 5, 4, 4, 2), 0.9 - i * 0.001));
  const detections = [[...misses, asDetection(gt, 0.1)]];
  const capped = scoreDetections([rec('a', [gt])], detections, { numClasses: 3 });
  assert.equal(capped.results.length, 100);
  assert.ok(capped.results.every((r) => r.category_id === 2));
  assert.equal(capped.evaluation.perClass[0].ap, 0, 'the low-scored hit was the 101st detection');
  const wide = scoreDetections([rec('a', [gt])], detections, { numClasses: 3, maxDetections: 101 });
  close(wide.evaluation.perClass[0].ap, 1, 'class 1 with the hit counted');
});

test('image ids: the source ids when all are distinct integers, else 1..N; unlabeled records are refused', () => {
  assert.deepEqual(cocoImageIds([{ sourceId: '5' }, { sourceId: '9' }]), [5, 9]);
  assert.deepEqual(cocoImageIds([{ sourceId: '5' }, { sourceId: 'x.png' }]), [1, 2]);
  assert.deepEqual(cocoImageIds([{ sourceId: '5' }, { sourceId: '5' }]), [1, 2]);
  assert.deepEqual(cocoImageIds([{}, {}]), [1, 2]);
  const unlabeled = { key: 'u', image: new Uint8Array(4), height: 2, width: 2, channels: 1 };
  assert.throws(() => scoreDetections([unlabeled], [[]], { numClasses: 2 }), /u has no boxes/);
  assert.throws(() => scoreDetections([rec('a', [px(0, 0, 5, 5, 3)])], [[]], { numClasses: 3 }), /label 3/);
  assert.throws(() => scoreDetections([rec('a', [])], [[]], { numClasses: 3, categoryIds: [0, 1] }), /category_ids/);
});

test('evaluateDetector batches a split through the detector; an untrained RetinaNet scores AP 0', async () => {
  const records = [rec('a', [px(10, 10, 40, 40, 1)]), rec('b', [px(50, 50, 60, 60, 2)]), rec('c', [])];
  const batches: number[] = [];
  let i = 0;
  const oracle: DetectFn = async (images) => {
    batches.push(images.shape[0]);
    return Array.from({ length: images.shape[0] }, () => records[i++].objects!.map((b) => asDetection(b, 0.8)));
  };
  const perfect = await evaluateDetector(records, oracle, { ...fromManifest, batchSize: 2 });
  assert.deepEqual(batches, [2, 1]);
  close(perfect.evaluation.ap, 1, 'ap');

  const spec = { inputShape: [32, 32, 1] as [number, number, number], numClasses: 2, fpnChannels: 8, headConvs: 1, seed: 1 };
  const model = buildRetinaNet(spec);
  const small = [0, 1].map((k) => ({ ...rec(`s${k}`, [{ xmin: 0.1, ymin: 0.1, xmax: 0.6, ymax: 0.6, label: 1 }]), image: new Uint8Array(32 * 32), height: 32, width: 32 }));
  const before = tf.memory().numTensors;
  const untrained = await evaluateDetector(small, retinaNetDetector(model, retinaNetAnchors(spec)), { numClasses: 3 });
  assert.equal(tf.memory().numTensors, before);
  assert.equal(untrained.evaluation.ap, 0);
  assert.equal(untrained.evaluation.detections, 0, 'the class prior 0.01 is under the 0.05 score floor');
  assert.deepEqual(untrained.evaluation.perClass.map((c) => c.ap), [0, -1], 'class 2 has no ground truth');
  model.dispose();
});
