import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMaskPng, vocPalette } from '@selftrain/data';
import { maskFileNames, predictedMaskPngs } from './evaluate-segmentation';

test('predicted masks export as palette PNGs of class ids, named after the source id or the key', () => {
  assert.deepEqual(maskFileNames([{ key: 'a/b', sourceId: '2007_000032' }, { key: 'a/b' }, { key: 'a/b' }]), ['2007_000032.png', 'a_b.png', 'a_b-2.png']);
  const mask = Uint8Array.from([0, 1, 2, 255, 15, 0]);
  const [png, other] = predictedMaskPngs([{ key: 'k', sourceId: '2007_000032', height: 2, width: 3 }, { key: 'j', height: 1, width: 1 }], [mask, Uint8Array.from([1])]);
  assert.deepEqual([png.key, png.sourceId, other.sourceId], ['k', '2007_000032', undefined]);
  assert.equal(png.png[25], 3, 'IHDR colour type 3: palette');
  const plte = png.png.indexOf('PLTE');
  assert.deepEqual([...png.png.subarray(plte + 4 + 3, plte + 4 + 6)], [...vocPalette().subarray(3, 6)], 'class 1 is VOC red');
  assert.deepEqual(decodeMaskPng(png.png), { mask, height: 2, width: 3 });
  assert.throws(() => predictedMaskPngs([{ key: 'k', height: 2, width: 2 }], [mask]), /6 pixels/);
});
