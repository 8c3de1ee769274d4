import { foldBatchNorm, type tf } from '@selftrain/compute';
import { NotFoundError } from '@selftrain/errors';
import { loadModelFromBucket, type ObjectStore } from '@selftrain/storage';

/**
 * Loaded checkpoints for inference (the labeler, the evaluator), keyed by (key, sha256) so a labeler loads
 * its teacher once for many shards, and a checkpoint overwritten under the same key is loaded again. Keeps
 * the `capacity` most recent. Each is kept in its inference form: batch norms folded into the convs before
 * them (foldBatchNorm, once per loaded checkpoint), so that conv + batch norm + ReLU run as one fused conv;
 * the same predictions within float rounding, not a model to train.
 */
export class ModelCache {
  private readonly entries = new Map<string, { model: tf.LayersModel; sha256: string }>();

  constructor(
    private readonly store: ObjectStore,
    private readonly capacity = 2,
  ) {}

  async get(key: string, field = 'checkpoint'): Promise<{ model: tf.LayersModel; sha256: string }> {
    const stat = await this.store.stat(key);
    if (!stat) throw new NotFoundError(`${field} ${key}`);
    const id = `${key}@${stat.sha256}`;
    const hit = this.entries.get(id);
    if (hit) {
      this.entries.delete(id);
      this.entries.set(id, hit);
      return hit;
    }
    const loaded = await loadModelFromBucket(this.store, key);
    const { model } = await foldBatchNorm(loaded);
    if (model !== loaded) loaded.dispose();
    const entry = { model, sha256: stat.sha256 };
    this.entries.set(id, entry);
    while (this.entries.size > this.capacity) {
      const [oldest, value] = this.entries.entries().next().value as [string, { model: tf.LayersModel }];
      value.model.dispose();
      this.entries.delete(oldest);
    }
    return entry;
  }
}
