import { tf } from '@selftrain/compute';
import { InputError } from '@selftrain/errors';
import { buildModel, buildRetinaNet, buildSegmenter, retinaNetAnchors, RETINANET_MAX_LEVEL, RETINANET_MIN_LEVEL, type AnchorSet, type ModelName, type RetinaNetSpec } from '@selftrain/models';
import { modelsFor } from '@selftrain/options';
import type { ImageShape, ResolvedTrainOptions } from '@selftrain/train';

export type ModelTask = 'classification' | 'detection' | 'segmentation';

/**
 * Anchor side = 2 x stride: the scene items are 17-45 px on a 96 px canvas, which P3-P4 anchors of
 * 16-50 px cover; RetinaNet's 4 x stride starts at 32 px and leaves the small items to low-IoU matches.
 */
export const DETECTOR_ANCHOR_SIZE_FACTOR = 2;

function detectorSpec(inputShape: [number, number, number], foreground: number, width?: number, seed?: number): RetinaNetSpec {
  return { inputShape, numClasses: foreground, width, seed, anchorSizeFactor: DETECTOR_ANCHOR_SIZE_FACTOR };
}

/** A fresh model for the task. `numClasses` counts the manifest's class names (background included for dense tasks). */
export function buildTaskModel(o: ResolvedTrainOptions, shape: ImageShape, numClasses: number, task: ModelTask): tf.LayersModel {
  const models: readonly string[] = modelsFor(task);
  if (!models.includes(o.model)) {
    throw new InputError('options.model', `${o.model} does not do ${task}; choose ${models.join(' or ')}`);
  }
  const inputShape: [number, number, number] = [shape.height, shape.width, shape.channels];
  switch (task) {
    case 'detection':
      return buildRetinaNet(detectorSpec(inputShape, numClasses - 1, o.width, o.seed));
    case 'segmentation':
      return buildSegmenter({ inputShape, numClasses, width: o.width, seed: o.seed });
    default:
      return buildModel({
        name: o.model as ModelName, inputShape, numClasses, width: o.width, dropout: o.dropout,
        stochasticDepth: o.stochasticDepth, seed: o.seed,
      });
  }
}

/** The anchors a detector (built by buildTaskModel, or loaded from its checkpoint) predicts for. */
export function detectorAnchors(model: tf.LayersModel): AnchorSet {
  const [, h, w, c] = model.inputs[0].shape as number[];
  const out = model.outputs[0].shape as number[];
  if (model.outputs.length !== 2 || !h || !w || out.length !== 3) throw new InputError('checkpoint', `model ${model.name} is not a selftrain detector (outputs ${model.outputs.map((o) => JSON.stringify(o.shape)).join(', ')})`);
  const spec = detectorSpec([h, w, c], out[2]);
  const anchors = retinaNetAnchors(spec);
  if (anchors.count === out[1]) return anchors;
  // A detector built before its top level followed the input size (P5 at every size) keeps its own layout.
  for (let maxLevel = RETINANET_MIN_LEVEL + 2; maxLevel <= RETINANET_MAX_LEVEL; maxLevel++) {
    const other = retinaNetAnchors({ ...spec, maxLevel });
    if (other.count === out[1]) return other;
  }
  throw new InputError('checkpoint', `model ${model.name} predicts ${out[1]} anchors, the detector layout ${anchors.count}: not a selftrain detector`);
}
