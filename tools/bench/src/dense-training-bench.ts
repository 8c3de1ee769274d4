import { createRng } from '@selftrain/random';
import { tf } from '@selftrain/compute';
import { buildRetinaNet, buildSegmenter, retinaNetAnchors } from '@selftrain/models';
import { SgdMomentum, TEACHER_DEFAULTS, detectionStep, segmentationStep, type DenseExample, type StepContext, type TrainingTask } from '@selftrain/train';

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
 * Training speed of the detector's and the segmenter's step as a teacher job runs them (detectionStep,
 * segmentationStep: the batch built and augmented at the teacher's default level, targets assigned, the
 * real losses and SGD-momentum update), on seeded synthetic scenes at the default small configurations,
 * on the current backend. Used by `npm run bench` (bench-dense-models).
 */
export function benchDenseTraining(opts: DenseTrainingBenchOptions = {}): DenseTrainingSpeed[] {
  const size = opts.size ?? 96;
  const batchSize = opts.batchSize ?? 16;
  const steps = opts.steps ?? 3;
  const numClasses = opts.numClasses ?? 10;
  const backend = tf.getBackend();
  const examples = syntheticScenes(batchSize, size, numClasses);
  const o = TEACHER_DEFAULTS;
  const time = (step: TrainingTask<DenseExample>['step']): number => {
    const optimizer = new SgdMomentum(o.momentum, o.weightDecay);
    const ctx: StepContext = {
      optimizer, learningRate: 0.01, weights: { human: 1, pseudo: 0 }, rng: createRng(1),
      augment: { level: o.augment, randAugmentN: o.randAugmentN, randAugmentM: o.randAugmentM },
    };
    try {
      void step(examples, [], ctx);
      const start = Date.now();
      for (let i = 0; i < steps; i++) void step(examples, [], ctx);
      return (Date.now() - start) / steps;
    } finally {
      optimizer.dispose();
    }
  };
  const result = (model: DenseTrainingSpeed['model'], stepMs: number): DenseTrainingSpeed =>
    ({ model, backend, size, batchSize, stepMs, imagesPerSecond: (batchSize * 1000) / stepMs });
  const out: DenseTrainingSpeed[] = [];
  const shape = { height: size, width: size, channels: 1 };
  const spec = { inputShape: [size, size, 1] as [number, number, number], numClasses, seed: 1 };

  const detector = buildRetinaNet(spec);
  out.push(result('retinanet', time(detectionStep(detector, shape, retinaNetAnchors(spec), numClasses))));
  detector.dispose();

  const segmenter = buildSegmenter({ ...spec, numClasses: numClasses + 1 });
  out.push(result('segmenter', time(segmentationStep(segmenter, shape, numClasses + 1))));
  segmenter.dispose();
  return out;
}

/** Two filled squares per image (classes by position), with their boxes and mask. */
function syntheticScenes(n: number, size: number, numClasses: number): DenseExample[] {
  return Array.from({ length: n }, (_, b) => {
    const image = new Uint8Array(size * size);
    const mask = new Uint8Array(size * size);
    const squares = [
      { xmin: 0.1, ymin: 0.1, xmax: 0.4, ymax: 0.45, label: 1 + (b % numClasses) },
      { xmin: 0.5 + (b % 4) * 0.05, ymin: 0.5, xmax: 0.9, ymax: 0.85, label: 1 + ((b + 3) % numClasses) },
    ];
    for (const s of squares) {
      for (let y = Math.floor(s.ymin * size); y < Math.floor(s.ymax * size); y++) {
        for (let x = Math.floor(s.xmin * size); x < Math.floor(s.xmax * size); x++) {
          image[y * size + x] = 100 + 15 * s.label;
          mask[y * size + x] = s.label;
        }
      }
    }
    return { image, objects: squares, mask };
  });
}
