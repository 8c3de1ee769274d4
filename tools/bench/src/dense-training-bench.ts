import { tf } from '@selftrain/compute';
import { buildRetinaNet, buildSegmenter, retinaNetAnchors } from '@selftrain/models';
import { detectionTargetTensors, detectionTrainStep, segmentationTrainStep, SgdMomentum, type GroundTruthBoxes } from '@selftrain/train';

export interface DenseTrainingBenchOptions {
  /** square input side (default 96) */
  size?: number;
  batchSize?: number;
  /** timed steps per model (default 3), after one untimed warm-up step */
  steps?: number;
  /** foreground classes (default 10, Fashion-MNIST scenes) */
  numClasses?: number;
}

export interface DenseTrainingSpeed {
  model: 'retinanet' | 'segmenter';
  backend: string;
  size: number;
  batchSize: number;
  stepMs: number;
  imagesPerSecond: number;
}

/**
 * Training speed of a detector step and a segmenter step (the default small configurations, the real
 * losses and SGD-momentum update) on synthetic scenes on the current backend. Used by `npm run bench` (bench-dense-models).
 */
export function benchDenseTraining(opts: DenseTrainingBenchOptions = {}): DenseTrainingSpeed[] {
  const size = opts.size ?? 96;
  const batchSize = opts.batchSize ?? 16;
  const steps = opts.steps ?? 3;
  const numClasses = opts.numClasses ?? 10;
  const backend = tf.getBackend();
  const images = tf.randomUniform([batchSize, size, size, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
  const time = (step: () => void): number => {
    step();
    const start = Date.now();
    for (let i = 0; i < steps; i++) step();
    return (Date.now() - start) / steps;
  };
  const result = (model: DenseTrainingSpeed['model'], stepMs: number): DenseTrainingSpeed =>
    ({ model, backend, size, batchSize, stepMs, imagesPerSecond: (batchSize * 1000) / stepMs });
  const out: DenseTrainingSpeed[] = [];

  const spec = { inputShape: [size, size, 1] as [number, number, number], numClasses, seed: 1 };
  const detector = buildRetinaNet(spec);
  const anchors = retinaNetAnchors(spec);
  const gts: GroundTruthBoxes[] = Array.from({ length: batchSize }, (_, b) => ({
    boxes: [0.1, 0.1, 0.4, 0.45, 0.5 + (b % 4) * 0.05, 0.5, 0.9, 0.85], labels: [1 + (b % numClasses), 1 + ((b + 3) % numClasses)],
  }));
  const targets = detectionTargetTensors(anchors, gts);
  const detOptimizer = new SgdMomentum(0.9, 1e-4);
  out.push(result('retinanet', time(() => { detectionTrainStep(detector, images, targets, detOptimizer, 0.01); })));
  detOptimizer.dispose();
  tf.dispose([targets.classTargets, targets.boxTargets]);
  detector.dispose();

  const segmenter = buildSegmenter({ ...spec, numClasses: numClasses + 1 });
  const labels = tf.tidy(() => tf.cast(tf.mul(tf.greater(images.squeeze([3]), 0.5), 3), 'int32')) as tf.Tensor3D;
  const segOptimizer = new SgdMomentum(0.9, 1e-4);
  out.push(result('segmenter', time(() => { segmentationTrainStep(segmenter, images, labels, segOptimizer, 0.01); })));
  segOptimizer.dispose();
  labels.dispose();
  segmenter.dispose();
  images.dispose();
  return out;
}
