/** The zoo's model names; the first is the default. */
export const MODEL_NAMES = ['cnn-small', 'resnet-small', 'resnet18'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/**
 * The classifier an input shape gets by default: cnn-small for 28x28 grey (Fashion-MNIST, what it was
 * tuned on), resnet18 for anything else (RGB, or other sizes from 32 to 224 px).
 */
export function defaultClassifierFor(inputShape: readonly [number, number, number]): ModelName {
  const [h, w, c] = inputShape;
  return h === 28 && w === 28 && c === 1 ? 'cnn-small' : 'resnet18';
}

export interface ModelSpec {
  name: ModelName;
  /** [height, width, channels], e.g. [28, 28, 1] for Fashion-MNIST */
  inputShape: [number, number, number];
  numClasses: number;
  /** channel multiplier, default 1 */
  width?: number;
  /** dropout before the classifier; default 0.3 (cnn-small) / 0.2 (resnet-small, resnet18) */
  dropout?: number;
  /** drop rate of the last residual block, linearly increasing per block (resnet-small, resnet18) */
  stochasticDepth?: number;
  /** basic blocks per stage (resnet18 only; four stages, default [2, 2, 2, 2]) */
  blocks?: number[];
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
  if (spec.blocks != null) {
    if (spec.name !== 'resnet18') throw new Error(`blocks is a resnet18 option (${spec.name} has a fixed depth)`);
    if (spec.blocks.length !== 4 || !spec.blocks.every((b) => Number.isInteger(b) && b >= 1)) {
      throw new Error(`blocks must be four integers >= 1 (blocks per stage), got [${spec.blocks.join(', ')}]`);
    }
  }
  if (spec.seed != null && !Number.isInteger(spec.seed)) throw new Error(`seed must be an integer, got ${spec.seed}`);
}
