import * as tf from '@tensorflow/tfjs';

/** TF.js's own gradients that the project replaced, by kernel name, kept to be put back. */
const stockGradients = new Map<string, tf.GradConfig>();

/** Registers `make(TF.js's own)` as the gradient of `kernelName` (once; the stock one is kept). */
export function overrideGradient(kernelName: string, make: (stock: tf.GradConfig) => tf.GradConfig): void {
  if (stockGradients.has(kernelName)) return;
  const stock = tf.getGradient(kernelName);
  if (stock == null) return;
  stockGradients.set(kernelName, stock);
  tf.registerGradient(make(stock));
}

/** Puts TF.js's own gradient of `kernelName` back. */
export function restoreGradient(kernelName: string): void {
  const stock = stockGradients.get(kernelName);
  if (stock == null) return;
  tf.registerGradient(stock);
  stockGradients.delete(kernelName);
}
