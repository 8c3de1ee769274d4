/**
 * Training and labeling img/s of the dense models on 96x96 one-channel scenes, batch 16, on the current
 * backend (wasm after benchTrainingSpeed). Part of `npm run bench`; takes ~15 s.
 *  - training: one detector (RetinaNet) step and one segmenter step (benchDenseTraining);
 *  - detector labeling: inference + decode + per-class NMS per image, as the labeler runs it (`detect`, score
 *    threshold 0.05, IoU 0.5, 100 per image). An untrained detector scores every anchor near its 0.01
 *    prior, so almost nothing reaches NMS; the worst case (score threshold 0.001: the top 1000 anchors x
 *    classes of every level go to NMS) bounds what a trained teacher costs;
 *  - segmenter labeling: six-scale inference (predictSegmentationMultiScale), the probabilities
 *    downloaded and each pixel's argmax and confidence taken, as the labeler does; one scale for reference.
 */
import { tf } from '@selftrain/compute';
import { buildRetinaNet, buildSegmenter, MULTI_SCALE_SCALES, predictSegmentationMultiScale, retinaNetAnchors } from '@selftrain/models';
import { detect, type DecodeDetectionsOptions } from '@selftrain/train';
import { benchDenseTraining, type DenseTrainingSpeed } from './dense-training-bench';

const SIZE = 96;
const BATCH = 16;
/** Foreground classes of Fashion-MNIST scenes; the segmenter adds the background. */
const CLASSES = 10;

export interface DenseLabelingSpeed {
  imgPerS: number;
  batches: number;
}

export interface DenseModelsBench {
  backend: string;
  size: number;
  batch: number;
  training: { detector: DenseTrainingSpeed; segmenter: DenseTrainingSpeed };
  labeling: {
    detector: DenseLabelingSpeed & { boxesPerImage: number };
    detectorWorstCase: DenseLabelingSpeed & { boxesPerImage: number };
    segmenterMultiScale: DenseLabelingSpeed & { scales: readonly number[] };
    segmenterOneScale: DenseLabelingSpeed;
  };
}

/** img/s of `batches` timed runs of `label` on one batch, after one untimed warm-up (kernel setup, weight packing). */
async function timeLabeling(batches: number, label: () => Promise<void>): Promise<DenseLabelingSpeed> {
  await label();
  const start = performance.now();
  for (let i = 0; i < batches; i++) await label();
  return { imgPerS: +((batches * BATCH) / ((performance.now() - start) / 1000)).toFixed(1), batches };
}

/** What the labeler does with a batch's probabilities: per pixel, the top class and its confidence. */
function argmaxPixels(probs: Float32Array, k: number): { labels: Uint8Array; confidence: Float32Array } {
  const n = probs.length / k;
  const labels = new Uint8Array(n);
  const confidence = new Float32Array(n);
  for (let p = 0; p < n; p++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (probs[p * k + c] > probs[p * k + best]) best = c;
    labels[p] = best;
    confidence[p] = probs[p * k + best];
  }
  return { labels, confidence };
}

export async function benchDenseModels(): Promise<DenseModelsBench> {
  const [detector, segmenter] = benchDenseTraining({ size: SIZE, batchSize: BATCH, steps: 2, numClasses: CLASSES });
  const images = tf.randomUniform([BATCH, SIZE, SIZE, 1], 0, 1, 'float32', 7) as tf.Tensor4D;
  try {
    const spec = { inputShape: [SIZE, SIZE, 1] as [number, number, number], numClasses: CLASSES, seed: 1 };
    const retinaNet = buildRetinaNet(spec);
    const anchors = retinaNetAnchors(spec);
    const detection = async (opts: DecodeDetectionsOptions, batches: number) => {
      let boxes = 0;
      const speed = await timeLabeling(batches, async () => {
        boxes = (await detect(retinaNet, images, anchors, { method: 'nms', iouThreshold: 0.5, maxDetections: 100, ...opts })).reduce((n, d) => n + d.length, 0);
      });
      return { ...speed, boxesPerImage: boxes / BATCH };
    };
    const detectorLabeling = await detection({}, 3);
    const detectorWorstCase = await detection({ scoreThreshold: 0.001 }, 1);
    retinaNet.dispose();

    const seg = buildSegmenter({ ...spec, numClasses: CLASSES + 1 });
    const segmentation = (scales: readonly number[], batches: number) => timeLabeling(batches, async () => {
      const probs = predictSegmentationMultiScale(seg, images, scales);
      try {
        argmaxPixels((await probs.data()) as Float32Array, CLASSES + 1);
      } finally {
        probs.dispose();
      }
    });
    const multi = await segmentation(MULTI_SCALE_SCALES, 2);
    const one = await segmentation([1], 3);
    seg.dispose();
    return {
      backend: tf.getBackend(), size: SIZE, batch: BATCH,
      training: { detector, segmenter },
      labeling: { detector: detectorLabeling, detectorWorstCase, segmenterMultiScale: { ...multi, scales: MULTI_SCALE_SCALES }, segmenterOneScale: one },
    };
  } finally {
    images.dispose();
  }
}

/** The bench table's lines for these figures. */
export function denseModelLines(b: DenseModelsBench): string[][] {
  const at = `${b.size}x${b.size}, batch ${b.batch}`;
  const l = b.labeling;
  return [
    [`training img/s, detector (RetinaNet), ${at}`, b.training.detector.imagesPerSecond.toFixed(1)],
    [`training img/s, segmenter, ${at}`, b.training.segmenter.imagesPerSecond.toFixed(1)],
    ['labeling img/s, detector (inference + decode + NMS)', `${l.detector.imgPerS} (untrained: ${l.detector.boxesPerImage} boxes/image)`],
    ['  worst case, every anchor a candidate', `${l.detectorWorstCase.imgPerS} (${l.detectorWorstCase.boxesPerImage} boxes/image)`],
    [`labeling img/s, segmenter (${l.segmenterMultiScale.scales.length}-scale inference)`, String(l.segmenterMultiScale.imgPerS)],
    ['  one scale', String(l.segmenterOneScale.imgPerS)],
  ];
}
