import { tf } from '@selftrain/compute';

/**
 * Joint training's second head (Zoph et al. Table 7: the task trained together with classification on
 * another dataset): a dense layer on the same features the model's 'logits' layer reads, so both losses
 * train one encoder. Returns a model sharing every layer with `model` but the new head, whose weights
 * are the only extra variables; checkpoints of `model` leave it out.
 */
export function buildAuxiliaryHead(model: tf.LayersModel, numClasses: number, seed: number): tf.LayersModel {
  let logits: tf.layers.Layer;
  try {
    logits = model.getLayer('logits');
  } catch {
    throw new Error(`model ${model.name} has no 'logits' layer to put an auxiliary head beside`);
  }
  const features = logits.input as tf.SymbolicTensor;
  const head = tf.layers.dense({
    name: 'auxiliary_logits', units: numClasses, biasInitializer: 'zeros',
    kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 104_729 }),
  });
  return tf.model({ inputs: model.inputs, outputs: head.apply(features) as tf.SymbolicTensor, name: `${model.name}-auxiliary` });
}
