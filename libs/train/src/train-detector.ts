import { tf } from '@selftrain/compute';
import { InputError } from '@selftrain/errors';
import { cocoBoxEval, cornerToXywh, toCocoDetections, type CocoDetection, type CocoGroundTruth } from '@selftrain/metrics';
import type { AnchorSet } from '@selftrain/models';
import type { TrainResult } from '@selftrain/proto';
import { imagesToTensor, type ImageShape } from './batch';
import { detect, type DecodeDetectionsOptions } from './decode-detections';
import { detectionBatch, type DenseExample } from './dense-batch';
import { retinaNetLoss, type DetectionLossOptions } from './detection-loss';
import type { AssignOptions } from './detection-targets';
import { weightedHalvesStep, type DenseTrainingInput } from './dense-training';
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

/** COCO AP (IoU .50:.95, 100 detections) of `model` on `examples`; AP50 and AP75 beside it. -1 becomes 0. */
export async function evaluateDetector(
  model: tf.LayersModel, examples: DenseExample[], shape: ImageShape, anchors: AnchorSet,
  numClasses: number, opts: { decode?: DecodeDetectionsOptions; batchSize?: number } = {},
): Promise<{ ap: number; ap50: number; ap75: number }> {
  const batchSize = opts.batchSize ?? 32;
  const groundTruth: CocoGroundTruth[] = [];
  const detections: CocoDetection[] = [];
  for (let start = 0; start < examples.length; start += batchSize) {
    const chunk = examples.slice(start, start + batchSize);
    const x = imagesToTensor(chunk, shape);
    const perImage = await detect(model, x, anchors, opts.decode).finally(() => x.dispose());
    perImage.forEach((dets, b) => {
      const imageId = start + b;
      detections.push(...toCocoDetections(imageId, dets, shape.width, shape.height));
      const objects = chunk[b].objects;
      if (!objects) throw new InputError(`validation[${imageId}]`, 'has no objects (give [] for an image without any)');
      for (const o of objects) {
        groundTruth.push({ imageId, categoryId: o.label, bbox: cornerToXywh(o, shape.width, shape.height), area: o.area, isCrowd: o.isCrowd });
      }
    });
  }
  const m = cocoBoxEval({
    groundTruth, detections, imageIds: examples.map((_, i) => i), categoryIds: Array.from({ length: numClasses }, (_, k) => k + 1),
  });
  return { ap: Math.max(m.ap, 0), ap50: Math.max(m.ap50, 0), ap75: Math.max(m.ap75, 0) };
}

/**
 * Trains a RetinaNet in the one training loop (runTraining): SGD + momentum, cosine lr with
 * warmup, seeded Augment-S1..S4 moving the boxes with the images, 'best' / 'last' checkpoints, resume,
 * early stopping, cancellation. The validation metric is COCO box AP@[.50:.95] (cocoBoxEval on the
 * validation examples' decoded detections); it is what TrainResult.bestValTop1, CurvePoint.valTop1 and
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
  return runTraining(input, () => ({
    metricName: 'COCO AP',
    variables: trainableVariables(model),
    step: detectionStep(model, shape, anchors, numClasses, { loss: input.loss, assign: input.assign }),
    evaluate: async () => {
      const m = await evaluateDetector(model, input.validation, shape, anchors, numClasses, { decode: input.decode, batchSize: input.evalBatchSize });
      return { metric: m.ap, details: { ap50: m.ap50, ap75: m.ap75 } };
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
