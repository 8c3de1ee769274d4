import { tf } from '@selftrain/compute';
import { InputError } from '@selftrain/errors';
import { IGNORE_LABEL, SegmentationConfusion, type SegmentationReport } from '@selftrain/metrics';
import { predictSegmentation } from '@selftrain/models';
import type { TrainResult } from '@selftrain/proto';
import { imagesToTensor, type ImageShape } from './batch';
import { segmentationBatch, type DenseExample } from './dense-batch';
import { runDenseTraining, weightedHalvesStep, type DenseStepContext, type DenseTrainingInput } from './dense-training-loop';
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

/** mIoU (ignore label excluded; single scale, inference mode) of `model` on `examples`' masks. */
export async function evaluateSegmenter(
  model: tf.LayersModel, examples: DenseExample[], shape: ImageShape, numClasses: number, opts: { ignoreLabel?: number; batchSize?: number } = {},
): Promise<SegmentationReport> {
  const batchSize = opts.batchSize ?? 16;
  const confusion = new SegmentationConfusion(numClasses, opts.ignoreLabel ?? IGNORE_LABEL);
  const pixels = shape.height * shape.width;
  for (let start = 0; start < examples.length; start += batchSize) {
    const chunk = examples.slice(start, start + batchSize);
    const predicted = tf.tidy(() => tf.argMax(predictSegmentation(model, imagesToTensor(chunk, shape)), -1));
    const data = await predicted.data();
    predicted.dispose();
    chunk.forEach((ex, b) => {
      if (!ex.mask) throw new InputError(`validation[${start + b}]`, 'has no mask');
      confusion.add(ex.mask, data.subarray(b * pixels, (b + 1) * pixels));
    });
  }
  return confusion.report();
}

/**
 * Trains an FPN segmenter with the classifier's loop (see runDenseTraining): SGD + momentum, cosine lr
 * with warmup, seeded Augment-S1..S4 warping the masks with the images (padding = ignore), 'best' / 'last'
 * checkpoints, resume, early stopping, cancellation. The validation metric is mIoU (SegmentationConfusion
 * over the validation masks, ignore label excluded, single-scale prediction); it is what
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

  const step = (human: DenseExample[], pseudo: DenseExample[], ctx: DenseStepContext): [number, number, number] => tf.tidy(() => {
    const batchOpts = { augment: ctx.augment, rng: ctx.rng, ignoreLabel };
    const h = segmentationBatch(human, shape, numClasses, batchOpts);
    const p = pseudo.length > 0 ? segmentationBatch(pseudo, shape, numClasses, batchOpts) : undefined;
    const x = p ? tf.concat([h.images, p.images]) : h.images;
    const nh = human.length;
    return weightedHalvesStep(ctx, () => {
      const logits = model.apply(x, { training: true }) as tf.Tensor4D;
      const part = (start: number, count: number) => logits.slice([start, 0, 0, 0], [count, -1, -1, -1]);
      const lossOpts = { ignoreLabel, classBalance: input.options.pixelClassBalance };
      return {
        human: segmentationCrossEntropy(part(0, nh), h.labels, lossOpts),
        pseudo: p ? segmentationCrossEntropy(part(nh, pseudo.length), p.labels, lossOpts) : undefined,
      };
    });
  });

  return runDenseTraining(input, {
    metricName: 'mIoU',
    step,
    evaluate: async () => {
      const report = await evaluateSegmenter(model, input.validation, shape, numClasses, { ignoreLabel, batchSize: input.evalBatchSize });
      return { metric: report.meanIou, details: { pixelAccuracy: report.pixelAccuracy } };
    },
  });
}
