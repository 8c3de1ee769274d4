import type { tf } from '@selftrain/compute';
import { imagesToTensor } from './batch';
import { yieldToEventLoop } from './yield-to-event-loop';

/** What a batch needs of a record (libs/data's ImageRecord fits). */
export interface SizedImage {
  image: Uint8Array;
  height: number;
  width: number;
  channels: number;
}

/**
 * Inference over a split or shard (labeler, evaluator): runs `fn` on consecutive records as [B, H, W, C] float tensors in [0, 1] (what training feeds the
 * models), at most `batchSize` at a time and never mixing image sizes. The tensor is disposed after `fn`.
 * Between batches it yields to the event loop (see yieldToEventLoop).
 */
export async function forEachImageBatch(
  records: readonly SizedImage[], batchSize: number, fn: (images: tf.Tensor4D, start: number, count: number) => Promise<void>,
): Promise<void> {
  for (let start = 0; start < records.length; ) {
    const { height, width, channels } = records[start];
    let end = start + 1;
    while (end < records.length && end - start < batchSize && records[end].height === height && records[end].width === width && records[end].channels === channels) end++;
    const images = imagesToTensor(records.slice(start, end), { height, width, channels });
    try {
      await fn(images, start, end - start);
    } finally {
      images.dispose();
    }
    start = end;
    if (start < records.length) await yieldToEventLoop();
  }
}
