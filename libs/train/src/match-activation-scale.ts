import { tf } from '@selftrain/compute';

/**
 * Rescales each conv/dense layer of `model` (in order, all but 'logits') so its output's RMS on
 * `images` equals that of the same layer in `reference`, a freshly initialised model of the same
 * architecture. ReLU layers are positively homogeneous: scaling a layer's kernel and bias by c scales
 * its output by c, so the network computes the same feature directions at a fresh model's scale.
 * Why: SimCLR's loss compares normalised projections and never sees the encoder's scale, which grows
 * during pretraining (measured: fc1 features at RMS 20 after 1,000 steps against 0.3 for a fresh
 * model); a classifier head fine-tuned on such features at the usual learning rate diverges.
 */
export function matchActivationScale(model: tf.LayersModel, reference: tf.LayersModel, images: tf.Tensor4D): void {
  const rms = (m: tf.LayersModel, layer: string) => tf.tidy(() => {
    const out = tf.model({ inputs: m.inputs, outputs: m.getLayer(layer).output as tf.SymbolicTensor }).predict(images) as tf.Tensor;
    return Math.sqrt(tf.mean(tf.square(out)).dataSync()[0]);
  });
  for (const layer of model.layers) {
    const weights = layer.getWeights();
    if (layer.name === 'logits' || weights.length !== 2 || !['Conv2D', 'Dense'].includes(layer.getClassName())) continue;
    const have = rms(model, layer.name);
    const want = rms(reference, layer.name);
    if (!(have > 0) || !(want > 0)) continue;
    const scaled = weights.map((w) => tf.mul(w, want / have));
    layer.setWeights(scaled);
    tf.dispose(scaled);
  }
}
