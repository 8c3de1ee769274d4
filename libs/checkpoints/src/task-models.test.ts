import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '@selftrain/compute';
import { InputError } from '@selftrain/errors';
import { TEACHER_DEFAULTS } from '@selftrain/train';
import { buildTaskModel, detectorAnchors } from './task-models';

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
