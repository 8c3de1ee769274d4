import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitGeometry, fitMask } from '@selftrain/data';
import { boxesToOriginal, maskToOriginal } from './original-frame';

test('boxes go back through stretch, letterbox and center-crop, clipped to the image', () => {
  const box = { xmin: 10, ymin: 20, xmax: 30, ymax: 60, score: 0.9, label: 1 };
  // 200x100 stretched to 64x64: x * 64/200, y * 64/100.
  const [s] = boxesToOriginal([box], fitGeometry({ height: 100, width: 200 }, { height: 64, width: 64 }, 'stretch'));
  assert.deepEqual([s.xmin, s.ymin, s.xmax, s.ymax].map((v) => +v.toFixed(6)), [31.25, 31.25, 93.75, 93.75]);
  // Letterboxed: scale 0.32, 16 rows of padding on top; a box in the padding disappears.
  const g = fitGeometry({ height: 100, width: 200 }, { height: 64, width: 64 }, 'letterbox');
  const [l, ...rest] = boxesToOriginal([box, { ...box, ymin: 0, ymax: 15 }], g);
  assert.deepEqual(rest, []);
  assert.deepEqual([l.xmin, l.ymin, l.xmax, l.ymax].map((v) => +v.toFixed(6)), [31.25, 12.5, 93.75, 100]);
});

test('a mask goes back nearest-neighbour; pixels a center-crop cut away are ignore (255); fitMask then gives the map back', () => {
  const g = fitGeometry({ height: 4, width: 8 }, { height: 4, width: 4 }, 'center-crop');
  const map = Uint8Array.from({ length: 16 }, (_, i) => i % 4);
  const back = maskToOriginal(map, g);
  assert.deepEqual(Array.from(back.subarray(0, 8)), [255, 255, 0, 1, 2, 3, 255, 255]);
  assert.deepEqual(fitMask(back, g), map);
});
