import { InputError } from '@selftrain/errors';
import { defaultFor, LABELING_OPTIONS, resolveOption } from '@selftrain/options';
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

/** Images per inference batch when labeling classification shards (the reason is LABELING_OPTIONS'). */
export const CLASSIFICATION_LABEL_BATCH: number = defaultFor(LABELING_OPTIONS.batchSize, 'classification');

/** A classification request's options: a field left out takes its default, one sent (0 included) is kept. */
export function resolveLabelingOptions(o: LabelingOptions | undefined): ResolvedLabelingOptions {
  const L = LABELING_OPTIONS;
  // Booleans are plain proto3 bools: unset is false.
  const balance = o?.balance ?? false;
  return {
    threshold: resolveOption(L.threshold, o?.threshold, 'options.threshold'),
    soft: o?.soft ?? false,
    temperature: resolveOption(L.temperature, o?.temperature, 'options.temperature'),
    balance,
    perClassCap: balance ? requireCap(o?.perClassCap) : 0,
    balanceMinConfidence: resolveOption(L.balanceMinConfidence, o?.balanceMinConfidence, 'options.balance_min_confidence'),
    batchSize: resolveOption(L.batchSize, o?.batchSize, 'options.batch_size', 'classification'),
  };
}

function requireCap(cap: number | undefined): number {
  if (!cap || cap < 1) throw new InputError('options.per_class_cap', 'must be >= 1 when options.balance is set');
  return resolveOption(LABELING_OPTIONS.perClassCap, cap, 'options.per_class_cap');
}
