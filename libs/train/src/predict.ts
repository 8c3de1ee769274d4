import { tf } from '@selftrain/compute';
import { imagesToTensor, type ImageShape } from './batch';
import { yieldToEventLoop } from './yield-to-event-loop';

/**
 * Class probabilities for a list of images, in batches, inference mode (no dropout), with an optional
 * softmax temperature applied to the logits (T < 1 sharpens). Returns a row-major [N, numClasses] array.
 * Between batches it yields to the event loop (see yieldToEventLoop).
 */
export async function predictProbabilities(
  model: tf.LayersModel, images: Uint8Array[], shape: ImageShape, opts: { batchSize?: number; temperature?: number } = {},
): Promise<Float32Array> {
  const batchSize = opts.batchSize ?? 256;
  const temperature = opts.temperature ?? 1;
  const numClasses = (model.outputs[0].shape.at(-1) as number) ?? 0;
  const out = new Float32Array(images.length * numClasses);
  for (let start = 0; start < images.length; start += batchSize) {
    const chunk = images.slice(start, start + batchSize).map((image) => ({ image }));
    const probs = tf.tidy(() => {
      const logits = model.predict(imagesToTensor(chunk, shape)) as tf.Tensor2D;
      return tf.softmax(temperature === 1 ? logits : tf.div(logits, temperature));
    });
    out.set(await probs.data(), start * numClasses);
    probs.dispose();
    if (start + batchSize < images.length) await yieldToEventLoop();
  }
  return out;
}
