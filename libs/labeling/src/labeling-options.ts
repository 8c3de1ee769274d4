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
    batchSize: numberOr(o?.batchSize, 256, 'options.batch_size', { integer: true, min: 1, max: 4096 }),
  };
}

function requireCap(cap: number | undefined): number {
  if (!cap || cap < 1) throw new InputError('options.per_class_cap', 'must be >= 1 when options.balance is set');
  return numberOr(cap, 1, 'options.per_class_cap', { integer: true, min: 1, max: 10_000_000 });
}
