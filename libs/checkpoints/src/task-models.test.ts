import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '@selftrain/compute';
import { InputError } from '@selftrain/errors';
import { buildRetinaNet, type AnchorSet } from '@selftrain/models';
import { TEACHER_DEFAULTS } from '@selftrain/train';
import { buildTaskModel, DETECTOR_ANCHOR_SIZE_FACTOR, detectorAnchors } from './task-models';

before(async () => {
  await initBackend({ purpose: 'train' });
});

const shape = { height: 64, width: 64, channels: 1 };

test("each task gets its model; the detector's anchors are recovered from the model alone", () => {
  const detector = buildTaskModel({ ...TEACHER_DEFAULTS, model: 'retinanet', width: 0.25 }, shape, 11, 'detection');
  const out = detector.outputs[0].shape as number[];
  assert.equal(out[2], 10, 'one sigmoid output per foreground class (the background has none)');
  const anchors = detectorAnchors(detector);
  assert.equal(anchors.count, out[1]);
  assert.equal(anchors.anchorsPerLocation, 9);
  // P3 at stride 8, side 2 x stride: the smallest anchor (its square root of area) is 16 px of the 64 px image.
  let smallest = Infinity;
  for (let a = 0; a < anchors.count; a++) {
    const [x0, y0, x1, y1] = anchors.boxes.subarray(4 * a, 4 * a + 4);
    smallest = Math.min(smallest, Math.sqrt((x1 - x0) * (y1 - y0)) * 64);
  }
  assert.ok(Math.abs(smallest - 16) < 1e-3, `smallest anchor ${smallest} px`);
  detector.dispose();
  const segmenter = buildTaskModel({ ...TEACHER_DEFAULTS, model: 'segmenter', width: 0.25 }, shape, 11, 'segmentation');
  assert.deepEqual(segmenter.outputs[0].shape, [null, null, null, 11], 'fully convolutional: any input size (multi-scale inference)');
  assert.throws(() => detectorAnchors(segmenter), /not a selftrain detector|anchors/);
  segmenter.dispose();
  assert.throws(() => buildTaskModel({ ...TEACHER_DEFAULTS, model: 'cnn-small' }, shape, 11, 'detection'),
    (e: unknown) => e instanceof InputError && e.field === 'options.model' && /cnn-small does not do detection; choose retinanet/.test(e.message));
});

/** The best IoU of box [x0, y0, x1, y1] (pixels) with any anchor of a side x side image. */
function bestIou(anchors: AnchorSet, side: number, box: number[]): number {
  const [bx0, by0, bx1, by1] = box.map((v) => v / side);
  let best = 0;
  for (let a = 0; a < anchors.count; a++) {
    const [x0, y0, x1, y1] = anchors.boxes.subarray(4 * a, 4 * a + 4);
    const iw = Math.min(x1, bx1) - Math.max(x0, bx0);
    const ih = Math.min(y1, by1) - Math.max(y0, by0);
    if (iw <= 0 || ih <= 0) continue;
    const inter = iw * ih;
    best = Math.max(best, inter / ((x1 - x0) * (y1 - y0) + (bx1 - bx0) * (by1 - by0) - inter));
  }
  return best;
}

for (const side of [128, 256]) {
  test(`the detector at ${side} px: an anchor at IoU >= 0.5 (a positive match) for objects from a quarter of the image to all of it, anywhere`, () => {
    const detector = buildTaskModel({ ...TEACHER_DEFAULTS, model: 'retinanet', width: 0.25 }, { height: side, width: side, channels: 3 }, 3, 'detection');
    const anchors = detectorAnchors(detector);
    detector.dispose();
    // (Between these sizes a 2:1 object can fall to IoU ~0.48 off the cell centres; the matcher's best-anchor rule still gives it one.)
    for (const fraction of [1, 0.75, 0.5, 0.25]) {
      const s = side * fraction;
      // Wide, square and tall objects, in the corners and the centre.
      for (const [w, h] of [[s, s], [s, s / 2], [s / 2, s]]) {
        for (const [x0, y0] of [[0, 0], [(side - w) / 2, (side - h) / 2], [side - w, side - h], [0, side - h]]) {
          const iou = bestIou(anchors, side, [x0, y0, x0 + w, y0 + h]);
          assert.ok(iou >= 0.5, `${w}x${h} px at (${x0}, ${y0}) of ${side} px: best anchor IoU ${iou.toFixed(3)}`);
        }
      }
    }
  });
}

test('a detector saved with the old fixed P3-P5 layout at 256 px keeps its own anchors', () => {
  const spec = { inputShape: [256, 256, 3] as [number, number, number], numClasses: 2, width: 0.25, fpnChannels: 8, headConvs: 0, anchorSizeFactor: DETECTOR_ANCHOR_SIZE_FACTOR };
  const old = buildRetinaNet({ ...spec, maxLevel: 5 });
  const now = buildRetinaNet(spec);
  const oldCount = (old.outputs[0].shape as number[])[1];
  assert.ok((now.outputs[0].shape as number[])[1] > oldCount, 'a 256 px detector now has a level above P5');
  const anchors = detectorAnchors(old);
  assert.equal(anchors.count, oldCount);
  assert.deepEqual(anchors.levels.map((l) => l.level), [3, 4, 5]);
  old.dispose();
  now.dispose();
});
