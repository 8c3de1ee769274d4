import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CorruptDataError, InputError } from '@selftrain/errors';
import { Example } from '@selftrain/proto';
import { PNG } from 'pngjs';
import { ANNOTATION_FEATURE as A } from './annotation-features';
import { decodeImageExample, encodeImageExample, FEATURE, type ImageRecord } from './image-example';
import { decodeMaskPng, encodePaletteMaskPng, encodeMaskPng, vocPalette } from './mask-png';

const f = Math.fround; // coordinates and areas are float32 on the wire
const base: ImageRecord = { key: 'img-1', image: Uint8Array.from({ length: 4 * 6 * 3 }, (_, i) => i), height: 4, width: 6, channels: 3 };
const strip = ({ encoded: _png, ...r }: ImageRecord) => r;

test('detection record round trip: boxes, labels, crowd flags, areas, source id', () => {
  const rec: ImageRecord = {
    ...base,
    sourceId: '397133',
    objects: [
      { xmin: f(0.1), ymin: f(0.2), xmax: f(0.5), ymax: f(0.9), label: 3, area: f(12.5) },
      { xmin: 0, ymin: 0, xmax: 1, ymax: 1, label: 0, isCrowd: true, area: 24 },
    ],
  };
  const bytes = encodeImageExample(rec);
  assert.deepEqual(strip(decodeImageExample(bytes, 's')), rec);
  const feat = Example.decode(bytes).features!.feature;
  // The TF Object Detection API's keys and types.
  assert.deepEqual(feat[A.xmin].floatList!.value, [f(0.1), 0]);
  assert.deepEqual(feat[A.objectLabel].int64List!.value, [3, 0]);
  assert.deepEqual(feat[A.isCrowd].int64List!.value, [0, 1]);
  assert.equal(feat[A.sourceId].bytesList!.value[0].toString(), '397133');
});

test('a labeled image with no boxes keeps an empty list; no crowd or area keys unless given', () => {
  const back = decodeImageExample(encodeImageExample({ ...base, objects: [] }), 's');
  assert.deepEqual(back.objects, []);
  const one = encodeImageExample({ ...base, objects: [{ xmin: 0, ymin: 0, xmax: f(0.5), ymax: f(0.5), label: 1 }] });
  const feat = Example.decode(one).features!.feature;
  assert.equal(feat[A.isCrowd], undefined);
  assert.equal(feat[A.area], undefined);
  assert.deepEqual(decodeImageExample(one, 's').objects, [{ xmin: 0, ymin: 0, xmax: f(0.5), ymax: f(0.5), label: 1 }]);
});

test('segmentation record round trip: a class mask with 255 = ignore, stored as a PNG with its format', () => {
  const mask = Uint8Array.from({ length: 24 }, (_, i) => (i % 5 === 0 ? 255 : i % 4));
  const rec: ImageRecord = { ...base, mask };
  const bytes = encodeImageExample(rec);
  assert.deepEqual(strip(decodeImageExample(bytes, 's')), rec);
  const feat = Example.decode(bytes).features!.feature;
  assert.equal(feat[A.maskFormat].bytesList!.value[0].toString(), 'png');
  assert.deepEqual([...feat[A.maskEncoded].bytesList!.value[0].subarray(1, 4)], [...Buffer.from('PNG')]);
});

test('a classification record (no annotation keys) decodes exactly as before', () => {
  const rec: ImageRecord = { ...base, label: 7 };
  const back = strip(decodeImageExample(encodeImageExample(rec), 's'));
  assert.deepEqual(back, rec);
  assert.deepEqual(Object.keys(back).sort(), ['channels', 'height', 'image', 'key', 'label', 'width']);
  const feat = Example.decode(encodeImageExample(rec)).features!.feature;
  assert.ok(Object.keys(feat).every((k) => Object.values(FEATURE).includes(k as never)));
});

test('bad annotations: InputError at encode, CorruptDataError naming the record at decode', () => {
  const box = { xmin: 0, ymin: 0, xmax: 0.5, ymax: 0.5, label: 1 };
  const field = (name: string) => (e: unknown) => e instanceof InputError && e.field === name;
  assert.throws(() => encodeImageExample({ ...base, objects: [{ ...box, xmax: 1.2 }] }), field('objects[0].xmax'));
  assert.throws(() => encodeImageExample({ ...base, objects: [{ ...box, xmin: 0.7 }] }), field('objects[0]'));
  assert.throws(() => encodeImageExample({ ...base, objects: [{ ...box, label: -1 }] }), field('objects[0].label'));
  assert.throws(() => encodeImageExample({ ...base, objects: [{ ...box, area: 3 }, box] }), field('objects.area'));
  assert.throws(() => encodeImageExample({ ...base, mask: new Uint8Array(23) }), field('mask'));

  const named = (re: RegExp) => (e: unknown) => e instanceof CorruptDataError && e.object === 'shard-3' && e.offset === 9 && re.test(e.message);
  const ex = Example.decode(encodeImageExample({ ...base, objects: [box, box] }));
  ex.features!.feature[A.ymax] = { floatList: { value: [0.5] } };
  assert.throws(() => decodeImageExample(Example.encode(ex).finish(), 'shard-3', 9), named(/ymax has 1 values for 2 objects \(img-1\)/));
  const ex2 = Example.decode(encodeImageExample(base));
  ex2.features!.feature[A.maskEncoded] = { bytesList: { value: [encodeMaskPng(new Uint8Array(6), 2, 3)] } };
  assert.throws(() => decodeImageExample(Example.encode(ex2).finish(), 'shard-3', 9), named(/mask is 2x3, image 4x6/));
});

test('palette mask PNG: colour type 3 with a PLTE chunk; readers see VOC colours, decodeMaskPng the class ids', () => {
  const mask = Uint8Array.from([0, 1, 2, 255, 15, 0]);
  const png = encodePaletteMaskPng(mask, 2, 3);
  assert.equal(png[25], 3, 'IHDR colour type');
  assert.equal(png.toString('latin1', 37, 41), 'PLTE');
  const rgba = PNG.sync.read(png).data;
  assert.deepEqual([...rgba.subarray(4, 7)], [128, 0, 0]); // class 1 in the VOC colour map
  assert.deepEqual([...rgba.subarray(12, 15)], [224, 224, 192]); // 255 = ignore, VOC's cream border colour
  assert.deepEqual(decodeMaskPng(png).mask, mask);
  assert.deepEqual([...vocPalette().subarray(3 * 15, 3 * 15 + 3)], [192, 128, 128]);
  // RGB images are not class masks.
  const rgb = PNG.sync.write({ width: 1, height: 1, data: Buffer.from([1, 2, 3, 255]) } as PNG, { colorType: 2 });
  assert.throws(() => decodeMaskPng(rgb), /colour type 2 is not a class mask/);
  assert.throws(() => decodeMaskPng(Buffer.from('GIF89a...')), /not a PNG/);
});
