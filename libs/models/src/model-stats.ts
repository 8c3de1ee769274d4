import { tf } from '@selftrain/compute';

/** Number of weights (trainable and not, e.g. batch-norm moving statistics), as Keras counts them. */
export function countParams(model: tf.LayersModel): number {
  return model.weights.reduce((n, w) => n + w.shape.reduce((p: number, q) => p * (q ?? 1), 1), 0);
}

/**
 * Forward FLOPs per example (2 per multiply-add) of the conv and dense layers, from the layers' shapes;
 * elementwise ops, pooling and batch norm are not counted (they are a few percent).
 */
export function countFlops(model: tf.LayersModel): number {
  let flops = 0;
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const out = layer.outputShape as (number | null)[];
    if (cls === 'Conv2D') {
      const kernel = layer.getWeights()[0].shape as number[]; // [kh, kw, cin, cout]
      flops += 2 * (out[1] ?? 0) * (out[2] ?? 0) * kernel[0] * kernel[1] * kernel[2] * kernel[3];
    } else if (cls === 'Dense') {
      const kernel = layer.getWeights()[0].shape as number[]; // [in, out]
      flops += 2 * kernel[0] * kernel[1];
    }
  }
  return flops;
}
