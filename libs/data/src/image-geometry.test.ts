import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitBoxes, fitGeometry, fitMask, isIdentityGeometry } from './image-geometry';
import { IGNORE_LABEL } from '@selftrain/metrics';

test('fitGeometry: letterbox fits inside and centres, center-crop covers, stretch scales each axis', () => {
  const lb = fitGeometry({ height: 480, width: 640 }, { height: 320, width: 320 }, 'letterbox');
  assert.deepEqual(lb.resized, { height: 240, width: 320 });
  assert.deepEqual([lb.scaleX, lb.scaleY, lb.offsetX, lb.offsetY], [0.5, 0.5, 0, 40]);
  const cc = fitGeometry({ height: 480, width: 640 }, { height: 240, width: 240 }, 'center-crop');
  assert.deepEqual(cc.resized, { height: 240, width: 320 });
  assert.deepEqual([cc.offsetX, cc.offsetY], [-40, 0]);
  const st = fitGeometry({ height: 50, width: 100 }, { height: 32, width: 32 }, 'stretch');
  assert.deepEqual([st.scaleX, st.scaleY, st.offsetX, st.offsetY], [0.32, 0.64, 0, 0]);
  // An odd leftover goes to the right / bottom.
  const odd = fitGeometry({ height: 10, width: 30 }, { height: 9, width: 30 }, 'letterbox');
  assert.deepEqual([odd.resized.width, odd.offsetX], [27, 1]);
  assert.ok(isIdentityGeometry(fitGeometry({ height: 32, width: 32 }, { height: 32, width: 32 }, 'letterbox')));
  assert.ok(!isIdentityGeometry(st));
});

test('fitBoxes: letterboxed boxes keep their place on the image exactly; area scales with the pixels', () => {
  const g = fitGeometry({ height: 480, width: 640 }, { height: 320, width: 320 }, 'letterbox');
  // A box over pixels x 64..320, y 48..240 of the source.
  const { boxes, kept } = fitBoxes([{ xmin: 0.1, xmax: 0.5, ymin: 0.1, ymax: 0.5, label: 3, area: 1000, isCrowd: true }], g);
  assert.deepEqual(kept, [0]);
  const [b] = boxes;
  // Target pixels x 32..160, y 40 + 24..120 of 320.
  assert.ok(Math.abs(b.xmin - 32 / 320) < 1e-12 && Math.abs(b.xmax - 160 / 320) < 1e-12);
  assert.ok(Math.abs(b.ymin - 64 / 320) < 1e-12 && Math.abs(b.ymax - 160 / 320) < 1e-12);
  assert.equal(b.area, 250);
  assert.equal(b.label, 3);
  assert.equal(b.isCrowd, true);
});

test('fitBoxes: center-crop clips boxes to the frame and drops the ones cut away, with their area share', () => {
  const g = fitGeometry({ height: 100, width: 200 }, { height: 100, width: 100 }, 'center-crop'); // columns 50..150 kept
  const { boxes, kept } = fitBoxes(
    [
      { xmin: 0, xmax: 0.2, ymin: 0, ymax: 1, label: 1 }, // x 0..40: gone
      { xmin: 0.2, xmax: 0.3, ymin: 0, ymax: 0.5, label: 2, area: 100 }, // x 40..60: half survives
      { xmin: 0.5, xmax: 0.6, ymin: 0.5, ymax: 1, label: 3 },
    ],
    g,
  );
  assert.deepEqual(kept, [1, 2]);
  assert.deepEqual(boxes.map((b) => b.label), [2, 3]);
  assert.ok(Math.abs(boxes[0].xmin) < 1e-12 && Math.abs(boxes[0].xmax - 0.1) < 1e-12);
  assert.ok(Math.abs(boxes[0].area! - 50) < 1e-9);
  assert.ok(Math.abs(boxes[1].xmin - 0.5) < 1e-12 && Math.abs(boxes[1].xmax - 0.7) < 1e-12);
});

test('fitMask: nearest-neighbour, letterbox padding becomes the ignore label, only source values appear', () => {
  // 2 rows x 4 columns of ids, letterboxed into 8 x 8: scale 2, rows 2..5 hold the image.
  const mask = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  const g = fitGeometry({ height: 2, width: 4 }, { height: 8, width: 8 }, 'letterbox');
  const out = fitMask(mask, g);
  const row = (y: number) => [...out.subarray(y * 8, y * 8 + 8)];
  for (const y of [0, 1, 6, 7]) assert.deepEqual(row(y), new Array(8).fill(IGNORE_LABEL));
  assert.deepEqual(row(2), [1, 1, 2, 2, 3, 3, 4, 4]);
  assert.deepEqual(row(5), [5, 5, 6, 6, 7, 7, 8, 8]);
  // Downscaling by 3 picks the pixel under each target centre; a custom ignore label fills the padding.
  const stripes = Uint8Array.from({ length: 9 * 9 }, (_, i) => i % 9);
  const down = fitMask(stripes, fitGeometry({ height: 9, width: 9 }, { height: 3, width: 3 }, 'stretch'));
  assert.deepEqual([...down], [1, 4, 7, 1, 4, 7, 1, 4, 7]);
  const padded = fitMask(Uint8Array.from([9, 9]), fitGeometry({ height: 1, width: 2 }, { height: 2, width: 2 }, 'letterbox'), 0);
  assert.deepEqual([...padded], [9, 9, 0, 0]);
});
