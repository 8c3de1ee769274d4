import { tf } from '@selftrain/compute';
import { SeedSequence } from './initializers';
import { ResizeLike } from './resize-like';

export interface FpnBackboneOptions {
  /** backbone channel multiplier (default 1: 16 stem, 24/32/64/96 for C2..C5) */
  width?: number;
  /** channels of every pyramid level P (default 32) */
  fpnChannels?: number;
  /** lowest pyramid level built: 2 (segmentation) or 3 (detection) */
  minLevel: number;
  /** highest level, 5..7: P6 is a stride-2 3x3 conv on C5, P7 one on relu(P6) (RetinaNet's choice) */
  maxLevel: number;
}

/** Backbone channels of C2..C5 at width 1; the stem has 16. */
const STAGE_CHANNELS = [24, 32, 64, 96];

export function validateFpnOptions(o: FpnBackboneOptions): void {
  if (!Number.isInteger(o.minLevel) || o.minLevel < 2 || o.minLevel > 5) throw new Error(`minLevel must be 2..5, got ${o.minLevel}`);
  if (!Number.isInteger(o.maxLevel) || o.maxLevel < Math.max(5, o.minLevel) || o.maxLevel > 7) {
    throw new Error(`maxLevel must be an integer in 5..7, got ${o.maxLevel}`);
  }
  if (o.width != null && !(o.width > 0)) throw new Error(`width must be > 0, got ${o.width}`);
  if (o.fpnChannels != null && !(Number.isInteger(o.fpnChannels) && o.fpnChannels >= 1)) {
    throw new Error(`fpnChannels must be a positive integer, got ${o.fpnChannels}`);
  }
}

/** Side of a level-`level` feature map for an input side `size`: 'same' stride-2 convs round up. */
export function levelSize(size: number, level: number): number {
  let s = size;
  for (let l = 0; l < level; l++) s = Math.ceil(s / 2);
  return s;
}

/**
 * A small plain conv backbone producing C2..C5 (strides 4..32: a stride-2 stem, then per stage a stride-2
 * conv3x3 and a conv3x3, batch norm + ReLU after each) and an FPN on it (Lin et al. 2017): 1x1 lateral
 * convs, top-down nearest 2x upsampling + sum, a 3x3 output conv per level; P6/P7 as in RetinaNet.
 * Returns the levels minLevel..maxLevel in order. Layers are named `backbone_*` and `fpn_*`.
 */
export function buildFpnBackbone(input: tf.SymbolicTensor, o: FpnBackboneOptions, seeds: SeedSequence): tf.SymbolicTensor[] {
  validateFpnOptions(o);
  const width = o.width ?? 1;
  const ch = (n: number) => Math.max(1, Math.round(n * width));
  const fpnChannels = o.fpnChannels ?? 32;
  const convBnRelu = (x: tf.SymbolicTensor, filters: number, strides: number, name: string) => {
    const y = tf.layers.conv2d({
      name: `${name}_conv`, filters, kernelSize: 3, strides, padding: 'same', useBias: false, kernelInitializer: seeds.he(),
    }).apply(x) as tf.SymbolicTensor;
    const n = tf.layers.batchNormalization({ name: `${name}_bn`, momentum: 0.9, epsilon: 1e-5 }).apply(y) as tf.SymbolicTensor;
    return tf.layers.reLU({ name: `${name}_relu` }).apply(n) as tf.SymbolicTensor;
  };
  const conv = (x: tf.SymbolicTensor, kernelSize: number, strides: number, name: string) =>
    tf.layers.conv2d({
      name, filters: fpnChannels, kernelSize, strides, padding: 'same', kernelInitializer: seeds.glorot(), biasInitializer: 'zeros',
    }).apply(x) as tf.SymbolicTensor;

  let x = convBnRelu(input, ch(16), 2, 'backbone_stem');
  const c: tf.SymbolicTensor[] = [];
  STAGE_CHANNELS.forEach((n, i) => {
    x = convBnRelu(x, ch(n), 2, `backbone_c${i + 2}a`);
    x = convBnRelu(x, ch(n), 1, `backbone_c${i + 2}b`);
    c.push(x);
  });
  const cAt = (level: number) => c[level - 2];

  // Top-down: from C5 down to minLevel; merged[level] before the 3x3 output conv.
  const topLevel = Math.min(5, o.maxLevel);
  let merged = conv(cAt(5), 1, 1, 'fpn_lateral5');
  const out = new Map<number, tf.SymbolicTensor>();
  out.set(5, conv(merged, 3, 1, 'fpn_output5'));
  for (let level = topLevel - 1; level >= o.minLevel; level--) {
    const lateral = conv(cAt(level), 1, 1, `fpn_lateral${level}`);
    const up = new ResizeLike({ method: 'nearest', name: `fpn_upsample${level + 1}` }).apply([merged, lateral]) as tf.SymbolicTensor;
    merged = tf.layers.add({ name: `fpn_merge${level}` }).apply([lateral, up]) as tf.SymbolicTensor;
    out.set(level, conv(merged, 3, 1, `fpn_output${level}`));
  }
  if (o.maxLevel >= 6) out.set(6, conv(cAt(5), 3, 2, 'fpn_p6'));
  if (o.maxLevel >= 7) {
    const r = tf.layers.reLU({ name: 'fpn_p6_relu' }).apply(out.get(6) as tf.SymbolicTensor) as tf.SymbolicTensor;
    out.set(7, conv(r, 3, 2, 'fpn_p7'));
  }
  const levels: tf.SymbolicTensor[] = [];
  for (let level = o.minLevel; level <= o.maxLevel; level++) levels.push(out.get(level) as tf.SymbolicTensor);
  return levels;
}
