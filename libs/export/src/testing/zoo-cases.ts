import { tf } from '@selftrain/compute';
import { buildModel, buildRetinaNet, buildSegmenter } from '@selftrain/models';
import { cifarFixtures, fashionMnistCanvases, fashionMnistTest, type ImageBatch } from './real-images';

/** One zoo model to round-trip, with real images of its input size. */
export interface ZooCase {
  name: string;
  build(): tf.LayersModel;
  images(): ImageBatch;
}

/**
 * Gives every batch norm layer moving statistics and an affine part away from their initial 0/1 (seeded),
 * as a trained model has; with the initial values a batch norm is nearly the identity and a wrong export
 * of it would pass unnoticed.
 */
export function perturbBatchNorm(model: tf.LayersModel, seed: number): void {
  let s = seed >>> 0;
  const rand = () => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return (s >>> 8) / 16777216; };
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const values = layer.getWeights().map((w, i) => {
      const n = w.size;
      // gamma, beta, moving mean, moving variance
      const data = Float32Array.from({ length: n }, () => [0.8 + 0.4 * rand(), 0.2 * (rand() - 0.5), 0.2 * (rand() - 0.5), 0.5 + rand()][i]);
      return tf.tensor(data, w.shape);
    });
    layer.setWeights(values);
    tf.dispose(values);
  }
}

/**
 * Every zoo model, with the noise options on (dropout, stochastic depth) so their removal is tested, and
 * each resnet18 stem. Detector with P3-P7, segmenter at 64 px.
 */
export const ZOO_CASES: ZooCase[] = [
  { name: 'cnn-small (28x28x1)', build: () => buildModel({ name: 'cnn-small', inputShape: [28, 28, 1], numClasses: 10, width: 0.5, seed: 1 }), images: () => fashionMnistTest(16) },
  { name: 'resnet-small (32x32x3, stochastic depth 0.2)', build: () => buildModel({ name: 'resnet-small', inputShape: [32, 32, 3], numClasses: 10, stochasticDepth: 0.2, seed: 2 }), images: cifarFixtures },
  { name: 'resnet18 (32x32x3, CIFAR stem, stochastic depth 0.1)', build: () => buildModel({ name: 'resnet18', inputShape: [32, 32, 3], numClasses: 10, width: 0.25, stochasticDepth: 0.1, seed: 3 }), images: cifarFixtures },
  { name: 'resnet18 (80x80x1, ImageNet stem with max pool)', build: () => buildModel({ name: 'resnet18', inputShape: [80, 80, 1], numClasses: 10, width: 0.25, seed: 4 }), images: () => fashionMnistCanvases(4, 80) },
  { name: 'retinanet (96x96x1, P3-P7)', build: () => buildRetinaNet({ inputShape: [96, 96, 1], numClasses: 10, maxLevel: 7, seed: 5 }), images: () => fashionMnistCanvases(4, 96) },
  { name: 'segmenter (64x64x1)', build: () => buildSegmenter({ inputShape: [64, 64, 1], numClasses: 11, seed: 6 }), images: () => fashionMnistCanvases(4, 64) },
];

/** Largest absolute difference of two arrays of the same length. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
