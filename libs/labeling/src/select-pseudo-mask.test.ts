import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readShard, writeShard, type ImageRecord } from '@selftrain/data';
import { FailedPreconditionError } from '@selftrain/errors';
import { resolveSegmentationLabelingOptions } from './dense-labeling-options';
import { assertEnoughPseudoPixels } from './dense-pseudo-label-guards';
import { mergeSegmentationLabelStats, pseudoMaskRecord, segmentationLabelStats, selectPseudoMask } from './select-pseudo-mask';

test('options: multi-scale at the paper\'s six scales, threshold 0.5, ignore 255; bad values name the field', () => {
  assert.deepEqual(resolveSegmentationLabelingOptions(), { threshold: 0.5, scales: [0.5, 0.75, 1, 1.25, 1.5, 1.75], ignoreLabel: 255, batchSize: 16 });
  assert.deepEqual(resolveSegmentationLabelingOptions({ scales: [1], ignoreLabel: 0 }).scales, [1]);
  assert.equal(resolveSegmentationLabelingOptions({ ignoreLabel: 0 }).ignoreLabel, 255); // proto3's unset
  assert.throws(() => resolveSegmentationLabelingOptions({ scales: [1, -0.5] }), /options\.scales\[1\]/);
  assert.throws(() => resolveSegmentationLabelingOptions({ ignoreLabel: 300 }), /options\.ignore_label/);
});

test('per-pixel argmax kept at probability >= threshold, the ignore label elsewhere', () => {
  // 2x2 pixels, 3 classes.
  const probs = [
    0.1, 0.5, 0.4, // class 1 at exactly 0.5: kept
    0.2, 0.3, 0.5 - 1e-6, // class 2 just under: ignore
    0.9, 0.05, 0.05, // class 0
    0.4, 0.4, 0.2, // tie 0/1 at 0.4: lower id, under threshold: ignore
  ];
  const { mask, confidence } = selectPseudoMask(Float32Array.from(probs), 3, 0.5, 255);
  assert.deepEqual([...mask], [1, 255, 0, 255]);
  assert.deepEqual([...confidence], [...Float32Array.from([0.5, 0.5 - 1e-6, 0.9, 0.4])]);
  assert.deepEqual([...selectPseudoMask(Float32Array.from(probs), 3, 0.4, 200).mask], [1, 2, 0, 0]);
  assert.throws(() => selectPseudoMask(probs, 3, 0.5, 2), /collides/);
  assert.throws(() => selectPseudoMask(probs.slice(1), 3, 0.5, 255), /whole number/);
});

test('statistics: ignore fraction, pixels and images per class, confidence histogram; shards merge', () => {
  const a = { mask: Uint8Array.from([0, 0, 1, 255]), confidence: Float32Array.from([0.95, 0.9, 0.55, 0.2]) };
  const b = { mask: Uint8Array.from([255, 255, 0, 2]), confidence: Float32Array.from([0.3, 0.45, 0.5, 1.0000001]) };
  const s = segmentationLabelStats([a, b], 3, 255);
  assert.deepEqual(s, {
    images: 2, pixels: 8, ignoredPixels: 3, ignoreFraction: 3 / 8,
    pixelsPerClass: [3, 1, 1], imagesPerClass: [2, 1, 1],
    // float32: .95 -> 9, .9 (0.89999998) -> 8, .55 .5 -> 5, .2 -> 2, .3 -> 3, .45 (0.44999999) -> 4,
    // and a softmax sum a hair over 1 -> the last bin
    confidenceHistogram: [0, 0, 1, 1, 1, 2, 0, 0, 1, 2],
  });
  assert.deepEqual(mergeSegmentationLabelStats(segmentationLabelStats([a], 3, 255), segmentationLabelStats([b], 3, 255)), s);
  assert.throws(() => segmentationLabelStats([{ mask: Uint8Array.from([7]), confidence: Float32Array.from([1]) }], 3, 255), /mask value 7/);
});

test('pseudo-mask records carry the mask as the data lib\'s PNG and nothing a human mask record lacks', () => {
  const r: ImageRecord = { key: 'u1', image: Uint8Array.from([1, 2, 3, 4, 5, 6]), height: 2, width: 3, channels: 1, sourceId: 'u1.png', label: 3, confidence: 0.9 };
  const mask = Uint8Array.from([0, 1, 255, 2, 2, 0]);
  const [back] = readShard(writeShard([pseudoMaskRecord(r, mask)]), 'pseudo');
  assert.deepEqual([...back.mask!], [...mask]);
  assert.deepEqual([...back.image], [...r.image]);
  assert.deepEqual([back.label, back.confidence, back.objects, back.sourceId], [undefined, undefined, undefined, 'u1.png']);
  assert.throws(() => pseudoMaskRecord(r, mask.subarray(1)), /mask of 5 pixels/);
});

test('the guard: (almost) every pixel ignored is an error', () => {
  assert.throws(() => assertEnoughPseudoPixels({ pixels: 10_000, ignoredPixels: 9_901 }), (e: unknown) =>
    e instanceof FailedPreconditionError && /kept 99 of 10000 pixels/.test(e.message));
  assertEnoughPseudoPixels({ pixels: 10_000, ignoredPixels: 9_900 }); // exactly 1%
  assertEnoughPseudoPixels({ pixels: 0, ignoredPixels: 0 });
  assert.throws(() => assertEnoughPseudoPixels({ pixels: 100, ignoredPixels: 50 }, 0.6), FailedPreconditionError);
});
