import * as tf from '@tensorflow/tfjs';
import { overrideGradient, restoreGradient } from './gradient-overrides';

/**
 * Mean's gradient without a tensor of ones. TF.js's own is div(mul(dy, ones(x.shape)), n): it fills a
 * JS array of ones as large as the input, uploads it, then multiplies with a broadcast. Global average
 * pooling is a Mean, so every classifier step paid for it: on ResNet-10 w32 at batch 128 the ones alone
 * were 6-7 ms a step, on the main thread, at any thread count. Here dy / n is tiled to x's shape (one
 * copy, our Tile on wasm). Same values: dy * 1 is dy, so (dy * 1) / n is dy / n, element by element.
 */
const meanGradient: tf.GradConfig = {
  kernelName: 'Mean',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const axes = tf.util.parseAxisParam((attrs as { axis: number | number[] }).axis, x.shape);
    const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const n = axes.reduce((size, axis) => size * x.shape[axis], 1);
    return {
      x: () => {
        const scaled = tf.div(tf.reshape(dy as tf.Tensor, kept), n);
        return tf.tile(scaled, x.shape.map((d, i) => (axes.includes(i) ? d : 1)));
      },
    };
  },
};

/** Makes Mean's gradient the one above (on every backend: it gives TF.js's values). */
export function installMeanGradient(): void {
  overrideGradient('Mean', () => meanGradient);
}

/** Puts TF.js's own Mean gradient back. */
export function uninstallMeanGradient(): void {
  restoreGradient('Mean');
}
