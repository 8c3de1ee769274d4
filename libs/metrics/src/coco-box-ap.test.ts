// Every expected value below is worked out by hand from COCOeval's definition (comments show how):
// 10 IoU thresholds .50:.05:.95, 101 recall points r = 0, .01, ..., 1, precision envelope, AP = the
// mean over thresholds, recall points and categories with ground truth.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cocoBoxEval, IOU_THRESHOLDS, RECALL_THRESHOLDS, type CocoDetection, type CocoGroundTruth } from './coco-box-ap.js';
import { randomCocoFixture } from './testing/random-coco-fixture.js';

// Precision is tp / (tp + fp + eps) as in the reference, so a perfect AP is 1 - 2e-16, not 1.
const close = (actual: number, expected: number, what = 'value') => assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} != ${expected}`);
const closeAll = (actual: number[], expected: number[]) => actual.forEach((a, i) => close(a, expected[i], `[${i}]`));
const gt = (imageId: number, bbox: [number, number, number, number], extra: Partial<CocoGroundTruth> = {}): CocoGroundTruth => ({ imageId, categoryId: 1, bbox, ...extra });
const dt = (imageId: number, bbox: [number, number, number, number], score: number, categoryId = 1): CocoDetection => ({ imageId, categoryId, bbox, score });

test('thresholds are numpy linspace, value for value', () => {
  assert.equal(IOU_THRESHOLDS.length, 10);
  assert.deepEqual([IOU_THRESHOLDS[0], IOU_THRESHOLDS[2], IOU_THRESHOLDS[5], IOU_THRESHOLDS[9]], [0.5, 0.6, 0.75, 0.95]);
  assert.equal(IOU_THRESHOLDS[8], 0.8999999999999999); // what pycocotools' params print too
  assert.equal(RECALL_THRESHOLDS.length, 101);
  assert.equal(RECALL_THRESHOLDS[50], 0.5);
});

test('one perfect detection: AP = AP50 = AP75 = AR = 1; the box (area 100) is small, so medium/large are -1', () => {
  const m = cocoBoxEval({ groundTruth: [gt(1, [0, 0, 10, 10])], detections: [dt(1, [0, 0, 10, 10], 0.9)] });
  closeAll([m.ap, m.ap50, m.ap75, m.apSmall, m.ar1, m.ar10, m.ar100, m.arSmall], [1, 1, 1, 1, 1, 1, 1, 1]);
  assert.deepEqual([m.apMedium, m.apLarge, m.arMedium, m.arLarge], [-1, -1, -1, -1]);
  close(m.perCategoryAp[0].ap, 1);
});

test('one detection at IoU 0.58 matches at .50 and .55 only: AP = 2/10 = 0.2; at IoU exactly 0.6 also at .60: 0.3', () => {
  // [0,0,10,5.8] inside [0,0,10,10]: IoU = 58/100. A matched threshold has precision 1 at all 101
  // recall points; an unmatched one has a single false positive, precision 0 everywhere.
  const at058 = cocoBoxEval({ groundTruth: [gt(1, [0, 0, 10, 10])], detections: [dt(1, [0, 0, 10, 5.8], 0.9)] });
  close(at058.ap, 0.2, 'AP');
  closeAll([at058.ap50, at058.ap75], [1, 0]);
  close(at058.ar100, 0.2, 'AR100'); // recall 1 at two thresholds, 0 at eight
  // COCO matches IoU >= threshold, and 60/100 is the same double as the threshold 0.6.
  close(cocoBoxEval({ groundTruth: [gt(1, [0, 0, 10, 10])], detections: [dt(1, [0, 0, 10, 6], 0.9)] }).ap, 0.3, 'AP at IoU 0.6');
});

test('TP, FP, TP over two objects: the precision envelope lifts the FP dip', () => {
  // Scores .9 (hits A), .8 (hits nothing), .7 (hits B); 2 ground truths, every threshold alike.
  // recall [.5, .5, 1], precision [1, .5, 2/3] -> envelope [1, 2/3, 2/3].
  // r = 0 .. .50 (51 points) first reach recall at index 0: precision 1; r = .51 .. 1 (50 points): 2/3.
  const m = cocoBoxEval({
    groundTruth: [gt(1, [0, 0, 10, 10]), gt(1, [50, 50, 10, 10])],
    detections: [dt(1, [0, 0, 10, 10], 0.9), dt(1, [100, 100, 10, 10], 0.8), dt(1, [50, 50, 10, 10], 0.7)],
  });
  close(m.ap, (51 * 1 + 50 * (2 / 3)) / 101, 'AP');
  assert.equal(m.ar100, 1);
  assert.equal(m.ar1, 0.5); // one detection per image: the .9 hit, recall 1/2
});

test('each detection takes the best-IoU unmatched ground truth, not the first listed', () => {
  // g1 = [0,0,10,10], g2 = [4,0,10,10]; d1 (.9) = [3,0,10,10] has IoU 70/130 = .538 with g1 and
  // 90/110 = .818 with g2, so it takes g2 at t <= .80 (7 thresholds); d2 (.8) = g1 exactly then takes g1.
  // Those 7 thresholds: TP, TP -> 1. At .85, .90, .95 d1 matches nothing: FP, TP -> recall [0, .5],
  // precision [0, .5], envelope [.5, .5]: .5 at the 51 points r <= .5, 0 above: 25.5 / 101.
  const m = cocoBoxEval({
    groundTruth: [gt(1, [0, 0, 10, 10]), gt(1, [4, 0, 10, 10])],
    detections: [dt(1, [3, 0, 10, 10], 0.9), dt(1, [0, 0, 10, 10], 0.8)],
  });
  close(m.ap, (7 * 1 + 3 * (25.5 / 101)) / 10, 'AP');
});

test('crowd regions: detections inside one are ignored, not false positives; IoU uses the detection area', () => {
  // R regular, C a crowd region of 40x40. d2 and d3 lie inside C: IoU = intersection / detection area = 1,
  // so both match C (a crowd absorbs any number) and are ignored. Only d1's TP counts: AP 1.
  const groundTruth = [gt(1, [0, 0, 10, 10]), gt(1, [20, 0, 40, 40], { isCrowd: true })];
  const detections = [dt(1, [0, 0, 10, 10], 0.9), dt(1, [25, 5, 10, 10], 0.8), dt(1, [30, 10, 10, 10], 0.7)];
  close(cocoBoxEval({ groundTruth, detections }).ap, 1);
  // The same region as a regular object: d2, d3 have IoU 100/1600 with it and are FPs; C is a missed object.
  // recall [.5, .5, .5], precision [1, .5, 1/3]: 1 at the 51 points r <= .5, 0 above -> 51/101.
  const plain = groundTruth.map((g) => ({ ...g, isCrowd: false }));
  close(cocoBoxEval({ groundTruth: plain, detections }).ap, 51 / 101, 'AP without crowd');
});

test('crowd ground truth is matched last: a detection keeps a regular match while it passes the threshold', () => {
  // d = [0,0,10,7.2]: IoU .72 with the regular G = [0,0,10,10]; inside crowd C = [0,0,20,20] (IoU 1).
  // t = .50 .. .70 (5 thresholds): d matches G, TP, precision 1. t = .75 .. .95 (5): G fails, d falls to C and is
  // ignored; G is missed: no counted detection, precision 0. AP = 5/10.
  const m = cocoBoxEval({
    groundTruth: [gt(1, [0, 0, 20, 20], { isCrowd: true }), gt(1, [0, 0, 10, 10])],
    detections: [dt(1, [0, 0, 10, 7.2], 0.9)],
  });
  close(m.ap, 0.5, 'AP');
  // A category whose only ground truth is a crowd has nothing to find: left out (-1).
  const onlyCrowd = cocoBoxEval({ groundTruth: [gt(1, [0, 0, 20, 20], { isCrowd: true })], detections: [dt(1, [0, 0, 5, 5], 0.9)] });
  assert.equal(onlyCrowd.ap, -1);
});

test('area ranges use the ground truth area; out-of-range ground truth and unmatched detections are ignored', () => {
  // S: 10x10 = 100 (small). L: 100x100 = 10000 (large, > 96^2 = 9216). F: an unmatched 50x50 = 2500 (medium) FP.
  const groundTruth = [gt(1, [0, 0, 10, 10]), gt(1, [100, 100, 100, 100])];
  const detections = [dt(1, [300, 300, 50, 50], 0.95), dt(1, [0, 0, 10, 10], 0.9), dt(1, [100, 100, 100, 100], 0.8)];
  const m = cocoBoxEval({ groundTruth, detections });
  // all: FP, TP, TP over 2 gt -> recall [0, .5, 1], precision [0, .5, 2/3] -> envelope 2/3 everywhere.
  close(m.ap, 2 / 3, 'AP all');
  // small: L ignored, its detection (matched to an ignored gt) ignored, F outside the range ignored: TP only.
  close(m.apSmall, 1);
  close(m.apLarge, 1);
  assert.equal(m.apMedium, -1); // no medium ground truth; F alone does not make the category count
  // Ranges are closed at both ends (32^2 is small and medium), and an annotation's own area wins over its box's.
  const edge = cocoBoxEval({ groundTruth: [gt(1, [0, 0, 32, 32])], detections: [dt(1, [0, 0, 32, 32], 0.9)] });
  closeAll([edge.apSmall, edge.apMedium], [1, 1]);
  const segArea = cocoBoxEval({ groundTruth: [gt(1, [0, 0, 50, 50], { area: 500 })], detections: [dt(1, [0, 0, 50, 50], 0.9)] });
  closeAll([segArea.apSmall, segArea.apMedium], [1, -1]);
});

test('at most 100 detections per image and category, by score', () => {
  const fps = (n: number) => Array.from({ length: n }, (_, i) => dt(1, [100 + 20 * i, 0, 10, 10], 0.9));
  const groundTruth = [gt(1, [0, 0, 10, 10])];
  // 100 higher-scored FPs push the hit to 101st: it is dropped, AP 0.
  assert.equal(cocoBoxEval({ groundTruth, detections: [...fps(100), dt(1, [0, 0, 10, 10], 0.5)] }).ap, 0);
  // 99 FPs: the hit is 100th, precision 1/100 at recall 1, and the envelope carries 1/100 to every r: AP = 0.01.
  const at100 = cocoBoxEval({ groundTruth, detections: [...fps(99), dt(1, [0, 0, 10, 10], 0.5)] });
  close(at100.ap, 0.01, 'AP');
  assert.deepEqual([at100.ar1, at100.ar10, at100.ar100], [0, 0, 1]);
  // Another category's detections on the same image do not count against this category's 100.
  const other = Array.from({ length: 50 }, (_, i) => dt(1, [0, 100 + 20 * i, 10, 10], 0.99, 2));
  close(cocoBoxEval({ groundTruth, detections: [...fps(99), dt(1, [0, 0, 10, 10], 0.5), ...other] }).ap, 0.01, 'AP with category 2');
});

test('ties in score keep image order (numpy mergesort), which changes AP', () => {
  // Images 1 and 2 each hold one object; both detections score .5, the FP on image `fpOn`.
  // FP first: recall [0, .5], precision [0, .5] -> envelope .5 at r <= .5 -> 25.5/101.
  // TP first: recall [.5, .5], precision [1, .5] -> 1 at r <= .5 -> 51/101.
  const run = (fpOn: number, tpOn: number) =>
    cocoBoxEval({
      groundTruth: [gt(1, [0, 0, 10, 10]), gt(2, [0, 0, 10, 10])],
      detections: [dt(tpOn, [0, 0, 10, 10], 0.5), dt(fpOn, [50, 50, 10, 10], 0.5)],
    }).ap;
  close(run(1, 2), 25.5 / 101, 'FP on the first image');
  close(run(2, 1), 51 / 101, 'FP on the second image');
});

test('categories without ground truth are left out of the mean; one never detected counts 0', () => {
  const m = cocoBoxEval({ groundTruth: [gt(1, [0, 0, 10, 10])], detections: [dt(1, [0, 0, 10, 10], 0.9), dt(1, [40, 40, 5, 5], 0.8, 7)] });
  close(m.ap, 1);
  assert.deepEqual(m.perCategoryAp.map((c) => [c.categoryId, Math.round(c.ap)]), [[1, 1], [7, -1]]);
  const missed = cocoBoxEval({ groundTruth: [gt(1, [0, 0, 10, 10]), { ...gt(1, [0, 0, 10, 10]), categoryId: 3 }], detections: [dt(1, [0, 0, 10, 10], 0.9)] });
  close(missed.ap, 0.5);
  assert.equal(cocoBoxEval({ groundTruth: [], detections: [] }).ap, -1);
  // An image without objects still counts its detections as false positives: FP (.9, image 2), then TP:
  // recall [0, 1], precision [0, .5] -> envelope .5 at every r.
  close(cocoBoxEval({ groundTruth: [gt(1, [0, 0, 10, 10])], detections: [dt(1, [0, 0, 10, 10], 0.5), dt(2, [0, 0, 10, 10], 0.9)], imageIds: [1, 2] }).ap, 0.5);
  assert.throws(() => cocoBoxEval({ groundTruth: [], detections: [dt(5, [0, 0, 1, 1], 1)], imageIds: [1] }), /image 5/);
});

// COCOeval.stats (pycocotools 2.0.11, numpy 2) on randomCocoFixture(seed): GT as an instances file with
// every image listed (300x300) and `area`/`iscrowd` from the fixture, detections through loadRes, then
// evaluate(); accumulate(); summarize(). Order: AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl.
const PYCOCOTOOLS_STATS: Record<number, number[]> = {
  1: [0.09430981211064482, 0.3250145437102676, 0.01465297771087072, 0.13750854681308303, 0.0867606165170883, 0.14493949394939493, 0.1290271877228399, 0.2687059969668665, 0.273210501471371, 0.2781384863123994, 0.26523616734143046, 0.25],
  2: [0.08407738989095992, 0.23182728707409597, 0.03611198823565672, 0.09750841754315578, 0.08738008998825207, 0.4, 0.14953216374269004, 0.3087280701754386, 0.3087280701754386, 0.3003267973856209, 0.315, 0.55],
  3: [0.11967952961549305, 0.34947336112961114, 0.042219643893903, 0.13340027206458852, 0.13373589303897435, 0.28333333333333327, 0.15726495726495726, 0.30195360195360194, 0.30528693528693535, 0.28143812709030097, 0.32294871794871793, 0.7],
  4: [0.1117648219275264, 0.34929679414618536, 0.03856032860625084, 0.13321453090187182, 0.1027644674016074, 0.2845984598459846, 0.1459222380275012, 0.2900864427180217, 0.2918882445198235, 0.2835309617918314, 0.2962418300653595, 0.36666666666666664],
  5: [0.08057220528667033, 0.26953035156121924, 0.017407541467544002, 0.09255247598917779, 0.09017983533117038, 0.23448844884488448, 0.11089564030740501, 0.2675034116210587, 0.2675034116210587, 0.2632600170502984, 0.28, 0.25],
};

test('matches pycocotools itself on seeded messy fixtures (crowds, ties, all sizes, a capped image)', () => {
  for (const [seed, stats] of Object.entries(PYCOCOTOOLS_STATS)) {
    const m = cocoBoxEval(randomCocoFixture(Number(seed)));
    const ours = [m.ap, m.ap50, m.ap75, m.apSmall, m.apMedium, m.apLarge, m.ar1, m.ar10, m.ar100, m.arSmall, m.arMedium, m.arLarge];
    ours.forEach((v, i) => assert.ok(Math.abs(v - stats[i]) < 1e-12, `seed ${seed} stat ${i}: ${v} vs pycocotools ${stats[i]}`));
  }
});
