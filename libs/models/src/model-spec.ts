/** The zoo's model names; the first is the default. */
export const MODEL_NAMES = ['cnn-small', 'resnet-small'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export interface ModelSpec {
  name: ModelName;
  /** [height, width, channels], e.g. [28, 28, 1] for Fashion-MNIST */
  inputShape: [number, number, number];
  numClasses: number;
  /** channel multiplier, default 1 */
  width?: number;
  /** dropout before the classifier; default 0.3 (cnn-small) / 0.2 (resnet-small) */
  dropout?: number;
  /** drop rate of the last residual block, linearly increasing per block (resnet-small only) */
  stochasticDepth?: number;
  /** seed for the kernel initializers: same seed, same initial weights */
  seed?: number;
}

export function validateSpec(spec: ModelSpec): void {
  if (!(MODEL_NAMES as readonly string[]).includes(spec.name)) {
    throw new Error(`unknown model "${spec.name}"; known: ${MODEL_NAMES.join(', ')}`);
  }
  const [h, w, c] = spec.inputShape ?? [];
  for (const [k, v] of [['height', h], ['width', w], ['channels', c]] as const) {
    if (!Number.isInteger(v) || (v as number) < 1) throw new Error(`inputShape ${k} must be a positive integer, got ${v}`);
  }
  if (h < 4 || w < 4) throw new Error(`inputShape ${h}x${w} is too small (at least 4x4)`);
  if (!Number.isInteger(spec.numClasses) || spec.numClasses < 2) {
    throw new Error(`numClasses must be an integer >= 2, got ${spec.numClasses}`);
  }
  if (spec.width != null && !(spec.width > 0)) throw new Error(`width must be > 0, got ${spec.width}`);
  if (spec.dropout != null && !(spec.dropout >= 0 && spec.dropout < 1)) {
    throw new Error(`dropout must be in [0, 1), got ${spec.dropout}`);
  }
  if (spec.stochasticDepth != null && !(spec.stochasticDepth >= 0 && spec.stochasticDepth < 1)) {
    throw new Error(`stochasticDepth must be in [0, 1), got ${spec.stochasticDepth}`);
  }
  if (spec.name === 'cnn-small' && (spec.stochasticDepth ?? 0) > 0) {
    throw new Error('stochasticDepth needs residual blocks: use resnet-small (cnn-small has none)');
  }
  if (spec.seed != null && !Number.isInteger(spec.seed)) throw new Error(`seed must be an integer, got ${spec.seed}`);
}
