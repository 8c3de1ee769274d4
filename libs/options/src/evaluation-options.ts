import type { NumberOption, Option } from './option';

/** EvaluateRequest's options. */
export const EVALUATION_OPTIONS = {
  batchSize: { proto: 'batchSize', type: 'number', integer: true, min: 1, max: 4096, default: 256 } as NumberOption,
  /** Also report how often predictions with confidence >= threshold are right. */
  threshold: { proto: 'threshold', type: 'number', min: 0, max: 1, default: 0.5 } as NumberOption,
} satisfies Record<string, Option>;
