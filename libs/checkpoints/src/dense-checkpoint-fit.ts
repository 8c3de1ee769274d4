import type { tf } from '@selftrain/compute';
import { InputError } from '@selftrain/errors';

/**
 * Checks that a loaded checkpoint is a model of the dataset's task for its classes, before any image
 * goes through it: a classifier handed to a detection dataset, or a detector of other classes, is the
 * caller's mistake (INVALID_ARGUMENT on `checkpoint`), not an internal failure deep in decoding.
 * `numClasses` counts the manifest's class names, the background included.
 */
export function assertCheckpointFitsTask(model: tf.LayersModel, task: 'detection' | 'segmentation', numClasses: number, channels: number): void {
  const input = model.inputs[0]?.shape ?? [];
  const outputs = model.outputs.map((o) => o.shape);
  if (task === 'detection') {
    // buildRetinaNet: [classLogits [B, N, K], boxDeltas [B, N, 4]] for a fixed input size.
    const [logits, deltas] = outputs;
    if (outputs.length !== 2 || logits.length !== 3 || deltas.length !== 3 || deltas[2] !== 4) {
      throw new InputError('checkpoint', `${model.name} is not a detector (outputs ${JSON.stringify(outputs)})`);
    }
    if (logits[2] !== numClasses - 1) throw new InputError('checkpoint', `the detector predicts ${logits[2]} classes; the dataset has ${numClasses - 1} besides the background`);
  } else {
    // buildSegmenter: logits [B, H, W, K].
    if (outputs.length !== 1 || outputs[0].length !== 4) throw new InputError('checkpoint', `${model.name} is not a segmenter (outputs ${JSON.stringify(outputs)})`);
    if (outputs[0][3] !== numClasses) throw new InputError('checkpoint', `the segmenter predicts ${outputs[0][3]} classes; the dataset has ${numClasses}`);
  }
  if (input.length !== 4 || input[3] !== channels) throw new InputError('checkpoint', `the model takes input ${JSON.stringify(input)}; the dataset's images have ${channels} channel(s)`);
}

/** A detector's anchors are laid out for one image size: every record must have it. */
export function assertDetectorImageSize(model: tf.LayersModel, records: readonly { key: string; height: number; width: number }[]): void {
  const [, h, w] = model.inputs[0].shape;
  const odd = records.find((r) => r.height !== h || r.width !== w);
  if (odd) throw new InputError('checkpoint', `the detector takes ${h}x${w} images; record ${odd.key} is ${odd.height}x${odd.width}`);
}
