import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exportedModelSpec } from './exported-model-spec';

const CLASSIFIER: Record<string, string> = {
  producer: 'selftrain', task: 'classification', input_name: 'image', input_layout: 'NHWC', input_height: '32', input_width: '32',
  input_size_fixed: 'true', channels: '3', channel_order: 'RGB', pixel_scale: String(1 / 255), class_names: '["cat","dog"]',
  channel_mean: '[0.49,0.48,0.45]', channel_std: '[0.25,0.24,0.26]', resize_policy: 'stretch',
};

test('a selftrain export\'s metadata_props give the preprocessing, the classes and the fit', () => {
  const spec = exportedModelSpec(CLASSIFIER, 'm.onnx');
  assert.deepEqual(spec.input, { height: 32, width: 32, channels: 3, fit: 'stretch' });
  assert.deepEqual(spec.shape, { height: 32, width: 32, channels: 3, mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26] });
  assert.deepEqual(spec.classNames, ['cat', 'dog']);
  // No resize_policy (a dataset whose images all had the size): the task's ingest default.
  const { resize_policy: _, channel_mean: __, channel_std: ___, ...plain } = CLASSIFIER;
  const p = exportedModelSpec(plain, 'm.onnx');
  assert.equal(p.input.fit, 'center-crop');
  assert.deepEqual([p.shape.mean, p.shape.std], [[], []]);
});

test('a missing or wrong key is an error naming the file and the key', () => {
  const without = (key: string) => Object.fromEntries(Object.entries(CLASSIFIER).filter(([k]) => k !== key));
  const cases: [Record<string, string>, RegExp][] = [
    [{}, /m\.onnx: has no metadata_props key "task"/],
    [without('class_names'), /has no metadata_props key "class_names"/],
    [without('input_height'), /has no metadata_props key "input_height"/],
    [without('channel_std'), /has no metadata_props key "channel_std" \(given with channel_mean\)/],
    [{ ...CLASSIFIER, task: 'captioning' }, /key "task" is "captioning": known tasks: classification, detection, segmentation/],
    [{ ...CLASSIFIER, input_layout: 'NCHW' }, /key "input_layout" is "NCHW"/],
    [{ ...CLASSIFIER, channel_mean: '[0.5]' }, /key "channel_mean" is "\[0.5\]": need 3 number\(s\)/],
    [{ ...CLASSIFIER, pixel_scale: '1' }, /key "pixel_scale" is "1"/],
    [{ ...CLASSIFIER, resize_policy: 'squash' }, /key "resize_policy" is "squash"/],
    [{ ...CLASSIFIER, task: 'detection' }, /has no metadata_props key "anchors"/],
  ];
  for (const [meta, message] of cases) assert.throws(() => exportedModelSpec(meta, 'm.onnx'), (err: Error) => message.test(err.message), JSON.stringify(meta));
});
