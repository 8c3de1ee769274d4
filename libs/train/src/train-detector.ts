import { tf } from '@selftrain/compute';
import { InputError } from '@selftrain/errors';
import type { AnchorSet } from '@selftrain/models';
import type { TrainResult } from '@selftrain/proto';
import type { ImageShape } from './batch';
import type { DecodeDetectionsOptions } from './decode-detections';
import { detectionBatch, type DenseExample } from './dense-batch';
import { retinaNetDetector } from './dense-predictors';
import { evaluateDetector } from './score-detections';
import { retinaNetLoss, type DetectionLossOptions } from './detection-loss';
import type { AssignOptions } from './detection-targets';
import { validationRecords, weightedHalvesStep, type DenseTrainingInput } from './dense-training';
import { trainableVariables } from './trainable-variables';
import { runTraining, type TrainingTask } from './training-loop';

export interface TrainDetectorInput extends DenseTrainingInput {
  /** A RetinaNet (buildRetinaNet): outputs [classLogits [B, N, K], boxDeltas [B, N, 4]]. */
  model: tf.LayersModel;
  /** retinaNetAnchors(spec) of the same spec: row for row with the outputs. */
  anchors: AnchorSet;
  /** Foreground classes: box labels 1..numClasses. */
  numClasses: number;
  loss?: DetectionLossOptions;
  assign?: AssignOptions;
  /** How validation detections are decoded (default: decodeDetections' own, score >= 0.05, NMS 0.5, 100 per image). */
  decode?: DecodeDetectionsOptions;
  /** Validation images per forward pass (default 32). */
  evalBatchSize?: number;
}

/**
 * Trains a RetinaNet in the one training loop (runTraining): SGD + momentum, cosine lr with
 * warmup, seeded Augment-S1..S4 moving the boxes with the images, 'best' / 'last' checkpoints, resume,
 * early stopping, cancellation. The validation metric is COCO box AP@[.50:.95], scored as the evaluator
 * scores a split (evaluateDetector, scoreDetections); it is what TrainResult.bestValTop1, CurvePoint.valTop1 and
 * Progress.valTop1 hold here.
 *
 * Student mode (`pseudo`): each batch is human examples then `fraction` pseudo-labeled ones, one forward
 * pass, and two RetinaNet losses, each normalized by its own half's positive anchors (so one half's box
 * count does not scale the other's loss), combined as L = 1/(1+α)(L_h + α·(L̄_h/L̄_p)·L_p) (LossNormalizer).
 * A pseudo example without boxes trains as all background.
 */
export async function trainDetector(input: TrainDetectorInput): Promise<TrainResult> {
  const { model, shape, anchors, numClasses } = input;
  const [, n, k] = model.outputs[0].shape as number[];
  if (n !== anchors.count) throw new InputError('anchors', `${anchors.count} anchors but the model outputs ${n} rows; use retinaNetAnchors of the model's spec`);
  if (k !== numClasses) throw new InputError('numClasses', `${numClasses} but the model has ${k} class outputs`);
  if (input.validation.length === 0) throw new InputError('validation', 'needs at least one validation example');
  const validation = validationRecords(input.validation, shape);
  return runTraining(input, () => ({
    metricName: 'COCO AP',
    variables: trainableVariables(model),
    step: detectionStep(model, shape, anchors, numClasses, { loss: input.loss, assign: input.assign }),
    evaluate: async () => {
      // The evaluator's scoring (AP, AP50, AP75 as COCOeval defines them); -1 (no ground truth) counts as 0.
      const { evaluation: e } = await evaluateDetector(validation, retinaNetDetector(model, anchors, input.decode), { numClasses: numClasses + 1, batchSize: input.evalBatchSize ?? 32 });
      return { metric: Math.max(e.ap, 0), details: { ap50: Math.max(e.ap50, 0), ap75: Math.max(e.ap75, 0) } };
    },
  }));
}

/**
 * The detector's training step, as trainDetector runs it: the batch (augmented, targets assigned) built
 * from the human examples then the pseudo ones, one forward pass, and a RetinaNet loss per half, each
 * normalized by its own half's positive anchors, weighted by the loss normalizer (weightedHalvesStep).
 */
export function detectionStep(
  model: tf.LayersModel, shape: ImageShape, anchors: AnchorSet, numClasses: number, opts: { loss?: DetectionLossOptions; assign?: AssignOptions } = {},
): TrainingTask<DenseExample>['step'] {
  const variables = trainableVariables(model);
  return (human, pseudo, ctx) => tf.tidy(() => {
    const batchOpts = { augment: ctx.augment, rng: ctx.rng, assign: opts.assign };
    const h = detectionBatch(human, shape, anchors, numClasses, batchOpts);
    const p = pseudo.length > 0 ? detectionBatch(pseudo, shape, anchors, numClasses, batchOpts) : undefined;
    const x = p ? tf.concat([h.images, p.images]) : h.images;
    const nh = human.length;
    return weightedHalvesStep(variables, ctx, () => {
      const [logits, deltas] = model.apply(x, { training: true }) as tf.Tensor3D[];
      const part = (start: number, count: number) => [logits.slice([start, 0, 0], [count, -1, -1]), deltas.slice([start, 0, 0], [count, -1, -1])];
      return {
        human: retinaNetLoss(part(0, nh), h.targets, opts.loss).total,
        pseudo: p ? retinaNetLoss(part(nh, pseudo.length), p.targets, opts.loss).total : undefined,
      };
    });
  });
}
