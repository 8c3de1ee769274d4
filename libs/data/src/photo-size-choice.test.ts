import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '@selftrain/errors';
import { chooseImageSize } from './photo-size-choice';

const s = (width: number, height: number) => ({ height, width });

test('dataset size: the user\'s wins; one shared size is kept; mixed sizes give a square of the most common longest side', () => {
  assert.deepEqual(chooseImageSize(256, [s(500, 375)]), s(256, 256));
  assert.deepEqual(chooseImageSize({ height: 96, width: 128 }, []), s(128, 96));
  assert.deepEqual(chooseImageSize(undefined, [s(40, 30), s(40, 30)]), s(40, 30), 'all one size: nothing resized');
  assert.deepEqual(chooseImageSize(undefined, [s(500, 375), s(375, 500), s(500, 333), s(640, 480)]), s(512, 512), 'VOC: 500 -> 512');
  assert.deepEqual(chooseImageSize(undefined, [s(640, 480), s(640, 427), s(480, 640)]), s(512, 512), 'COCO: 640, kept within 512');
  assert.deepEqual(chooseImageSize(undefined, [s(32, 32), s(30, 32)]), s(128, 128), 'small photos: at least 128');
  assert.deepEqual(chooseImageSize(undefined, [s(200, 100), s(300, 100)]), s(320, 320), 'a tie goes to the larger side');
  for (const bad of [0, 7, 4097, 12.5]) assert.throws(() => chooseImageSize(bad, []), (e: unknown) => e instanceof InputError && e.field === 'imageSize');
  assert.throws(() => chooseImageSize(undefined, []), /give the dataset size/);
});
