import { InputError, numberOr } from '@selftrain/errors';
import type { LabelingOptions } from '@selftrain/proto';

export interface ResolvedLabelingOptions {
  threshold: number;
  soft: boolean;
  temperature: number;
  balance: boolean;
  perClassCap: number;
  balanceMinConfidence: number;
  batchSize: number;
}

/**
 * Images per inference batch when labeling classification shards. 32 to 256 run at the same img/s on the
 * native kernels (measured: 3,850-3,990 img/s), and the labeler yields to its event loop between batches:
 * at 64 (~17 ms a batch) the next shard's fetch and decode keep up with this one's inference; at 256 they
 * fell ~120 ms behind every other shard.
 */
export const CLASSIFICATION_LABEL_BATCH = 64;

export function resolveLabelingOptions(o: LabelingOptions | undefined): ResolvedLabelingOptions {
  const balance = o?.balance ?? false;
  return {
    // Defaults from the papers: hard labels at confidence >= 0.5; Noisy Student balancing above 0.3.
    threshold: numberOr(o?.threshold, 0.5, 'options.threshold', { min: 0, max: 1 }),
    soft: o?.soft ?? false,
    temperature: numberOr(o?.temperature, 1, 'options.temperature', { min: 0.05, max: 20 }),
    balance,
    perClassCap: balance ? requireCap(o?.perClassCap) : 0,
    balanceMinConfidence: numberOr(o?.balanceMinConfidence, 0.3, 'options.balance_min_confidence', { min: 0, max: 1 }),
    batchSize: numberOr(o?.batchSize, CLASSIFICATION_LABEL_BATCH, 'options.batch_size', { integer: true, min: 1, max: 4096 }),
  };
}

function requireCap(cap: number | undefined): number {
  if (!cap || cap < 1) throw new InputError('options.per_class_cap', 'must be >= 1 when options.balance is set');
  return numberOr(cap, 1, 'options.per_class_cap', { integer: true, min: 1, max: 10_000_000 });
}
