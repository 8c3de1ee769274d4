// Pixels become model input in one place (writeModelInput): pixel / 255, then the manifest's
// per-channel normalisation when it has one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { imagesToTensor, writeModelInput } from './batch';

const image = Uint8Array.from([0, 128, 255, 10, 20, 30]); // 1x2 RGB

test('without statistics the input is pixel / 255, exactly as before normalisation existed', () => {
  const out = new Float32Array(6);
  writeModelInput(out, 0, image, { height: 1, width: 2, channels: 3, mean: [], std: [] });
  assert.deepEqual(Array.from(out), Array.from(Float32Array.from(image, (v) => v / 255)));
});

test('with statistics each channel is (pixel / 255 - mean) / std, in batches too', () => {
  const shape = { height: 1, width: 2, channels: 3, mean: [0.5, 0.25, 0], std: [0.5, 0.25, 2] };
  const want = Array.from(image, (v, j) => Math.fround((v / 255 - shape.mean[j % 3]) / shape.std[j % 3]));
  const tensor = imagesToTensor([{ image }, { image }], shape);
  assert.deepEqual(Array.from(tensor.dataSync()), [...want, ...want]);
  tensor.dispose();
  // Channel 0: 0 -> -1, 255 -> +1.
  assert.equal(want[0], -1);
});

test('a normalisation that does not fit the channels, or a zero std, is an error', () => {
  const out = new Float32Array(6);
  assert.throws(() => writeModelInput(out, 0, image, { height: 1, width: 2, channels: 3, mean: [0.5], std: [0.5] }), /1 means and 1 stds for 3 channel/);
  assert.throws(() => writeModelInput(out, 0, image, { height: 1, width: 2, channels: 3, mean: [0, 0, 0], std: [1, 0, 1] }), /channel 1 has standard deviation 0/);
});
