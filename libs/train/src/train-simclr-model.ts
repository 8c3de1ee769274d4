import { tf } from '@selftrain/compute';
import { InputError } from '@selftrain/errors';

/** Widths of the projection head g(h) = W2 relu(W1 h). */
export interface ProjectionDims {
  hidden: number;
  out: number;
}

export const DEFAULT_PROJECTION: ProjectionDims = { hidden: 128, out: 64 };

/**
 * The classifier without its head: model.inputs -> the input of the 'logits' layer (the representation h
 * that SimCLR trains and the init transfers). It shares the model's layers and weights, so training it
 * trains the model. Never dispose it: that would dispose the model's weights; dispose the model.
 */
export function simclrEncoder(model: tf.LayersModel): tf.LayersModel {
  const head = model.layers.find((l) => l.name === 'logits');
  if (!head) throw new InputError('model', `model ${model.name} has no layer named 'logits' to cut the encoder at`);
  const features = head.input;
  if (Array.isArray(features)) throw new InputError('model', `the 'logits' layer of ${model.name} has ${features.length} inputs, expected one`);
  return tf.model({ inputs: model.inputs, outputs: features, name: `${model.name}-encoder` });
}

/**
 * SimCLR's projection head, Dense(hidden, relu) -> Dense(out), on the encoder's features. It is trained
 * along with the encoder and then thrown away: the paper finds h (before the head) transfers better than z.
 * Seeded, so a run repeats.
 */
export function buildProjectionHead(featureDim: number, dims: ProjectionDims, seed: number): tf.Sequential {
  for (const [k, v] of Object.entries(dims)) {
    if (!Number.isInteger(v) || v < 1) throw new InputError(`projection.${k}`, `must be a positive integer, got ${v}`);
  }
  return tf.sequential({
    name: 'simclr-projection',
    layers: [
      tf.layers.dense({
        name: 'projection_hidden', inputShape: [featureDim], units: dims.hidden, activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed }), biasInitializer: 'zeros',
      }),
      tf.layers.dense({
        name: 'projection_out', units: dims.out,
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }), biasInitializer: 'zeros',
      }),
    ],
  });
}
