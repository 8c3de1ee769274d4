import { tf } from '@selftrain/compute';
import { InputError } from '@selftrain/errors';
import type { TrainResult } from '@selftrain/proto';
import type { ImageShape } from './batch';
import { segmentationBatch, type DenseExample } from './dense-batch';
import { segmentationPredictor } from './dense-predictors';
import { evaluateSegmenter } from './score-segmentation';
import { validationRecords, weightedHalvesStep, type DenseTrainingInput } from './dense-training';
import { trainableVariables } from './trainable-variables';
import { runTraining, type TrainingTask } from './training-loop';
import { IGNORE_LABEL } from '@selftrain/metrics';
import { segmentationCrossEntropy } from './segmentation-loss';

export interface TrainSegmenterInput extends DenseTrainingInput {
  /** An FPN segmenter (buildSegmenter): logits [B, H, W, numClasses]. */
  model: tf.LayersModel;
  /** Classes including the background: mask values 0..numClasses-1, or the ignore label. */
  numClasses: number;
  /** Default 255. Pseudo masks carry it on the pixels the teacher was unsure of. */
  ignoreLabel?: number;
  /** Validation images per forward pass (default 16). */
  evalBatchSize?: number;
}

/**
 * Trains an FPN segmenter in the one training loop (runTraining): SGD + momentum, cosine lr
 * with warmup, seeded Augment-S1..S4 warping the masks with the images (padding = ignore), 'best' / 'last'
 * checkpoints, resume, early stopping, cancellation. The validation metric is mIoU, scored as the evaluator
 * scores a split (evaluateSegmenter: single-scale prediction, ignore label excluded); it is what
 * TrainResult.bestValTop1, CurvePoint.valTop1 and Progress.valTop1 hold here.
 *
 * Student mode (`pseudo`): each batch is human examples then `fraction` pseudo-labeled ones, one forward
 * pass, and two cross-entropies, each the mean over its own half's non-ignored pixels (a pseudo mask
 * that is mostly ignore does not dilute the human loss), combined as L = 1/(1+α)(L_h + α·(L̄_h/L̄_p)·L_p).
 */
export async function trainSegmenter(input: TrainSegmenterInput): Promise<TrainResult> {
  const { model, shape, numClasses } = input;
  const ignoreLabel = input.ignoreLabel ?? IGNORE_LABEL;
  const k = model.outputs[0].shape.at(-1) as number;
  if (k !== numClasses) throw new InputError('numClasses', `${numClasses} but the model has ${k} class outputs`);
  if (input.validation.length === 0) throw new InputError('validation', 'needs at least one validation example');
  const validation = validationRecords(input.validation, shape);
  return runTraining(input, () => ({
    metricName: 'mIoU',
    variables: trainableVariables(model),
    step: segmentationStep(model, shape, numClasses, { ignoreLabel, classBalance: input.options.pixelClassBalance }),
    evaluate: async () => {
      // The evaluator's scoring: single-scale argmax, mIoU over the classes present, ignore excluded.
      const { evaluation: e } = await evaluateSegmenter(validation, segmentationPredictor(model), { numClasses, ignoreLabel, batchSize: input.evalBatchSize ?? 16 });
      return { metric: e.meanIou, details: { pixelAccuracy: e.pixelAccuracy } };
    },
  }));
}

/**
 * The segmenter's training step, as trainSegmenter runs it: the batch (augmented, masks warped with the
 * images) built from the human examples then the pseudo ones, one forward pass, and a cross-entropy per
 * half, each the mean over its own half's non-ignored pixels, weighted by the loss normalizer
 * (weightedHalvesStep).
 */
export function segmentationStep(
  model: tf.LayersModel, shape: ImageShape, numClasses: number, opts: { ignoreLabel?: number; classBalance?: number } = {},
): TrainingTask<DenseExample>['step'] {
  const variables = trainableVariables(model);
  const ignoreLabel = opts.ignoreLabel ?? IGNORE_LABEL;
  const lossOpts = { ignoreLabel, classBalance: opts.classBalance };
  return (human, pseudo, ctx) => tf.tidy(() => {
    const batchOpts = { augment: ctx.augment, rng: ctx.rng, ignoreLabel };
    const h = segmentationBatch(human, shape, numClasses, batchOpts);
    const p = pseudo.length > 0 ? segmentationBatch(pseudo, shape, numClasses, batchOpts) : undefined;
    const x = p ? tf.concat([h.images, p.images]) : h.images;
    const nh = human.length;
    return weightedHalvesStep(variables, ctx, () => {
      const logits = model.apply(x, { training: true }) as tf.Tensor4D;
      const part = (start: number, count: number) => logits.slice([start, 0, 0, 0], [count, -1, -1, -1]);
      return {
        human: segmentationCrossEntropy(part(0, nh), h.labels, lossOpts),
        pseudo: p ? segmentationCrossEntropy(part(nh, pseudo.length), p.labels, lossOpts) : undefined,
      };
    });
  });
}
