import { tf } from '@selftrain/compute';
import { generateAnchors, type AnchorSet, DEFAULT_ANCHOR_SCALES, DEFAULT_ASPECT_RATIOS } from './anchors';
import { buildFpnBackbone, validateFpnOptions } from './fpn-backbone';
import { SeedSequence } from './initializers';

export interface RetinaNetSpec {
  /** [height, width, channels]; the anchors are laid out for exactly this size */
  inputShape: [number, number, number];
  /** foreground classes: labels 1..numClasses (0 is the background, which has no output) */
  numClasses: number;
  /** backbone channel multiplier, default 1 */
  width?: number;
  /** FPN and head channels, default 32 */
  fpnChannels?: number;
  /** highest pyramid level, 5 to 7 (default: retinaNetMaxLevel of the input size); the lowest is P3 */
  maxLevel?: number;
  /** 3x3 ReLU convs in each subnet before its output conv, default 2 (the paper: 4) */
  headConvs?: number;
  /** anchor side at scale 1 = sizeFactor * stride, default 4 */
  anchorSizeFactor?: number;
  /** prior probability of the class outputs at init (bias = -log((1 - pi) / pi)), default 0.01 */
  priorProbability?: number;
  seed?: number;
}

export const RETINANET_MIN_LEVEL = 3;
/** The highest level the FPN builds (P7, as in the paper). */
export const RETINANET_MAX_LEVEL = 7;
/**
 * The largest anchor must reach this share of the input's longer side: an object that fills the image then
 * still meets an anchor at IoU >= 0.5 (the matcher's positive threshold), wherever the cell centres fall.
 */
const TOP_ANCHOR_COVER = 0.75;

/**
 * The pyramid's top level for an input size: P5 while its anchors reach across the image (the 28-128 px
 * scenes), one more level per doubling above that (P6 at 256 px, P7 at 384-512 px). A fixed P5 would leave
 * every object over ~100 px of a 256 px photo without an anchor to match it.
 */
export function retinaNetMaxLevel(height: number, width: number, anchorSizeFactor = 4): number {
  const largestScale = Math.max(...DEFAULT_ANCHOR_SCALES);
  let level = 5;
  while (level < RETINANET_MAX_LEVEL && anchorSizeFactor * 2 ** level * largestScale < TOP_ANCHOR_COVER * Math.max(height, width)) level++;
  return level;
}

function resolve(spec: RetinaNetSpec) {
  const [h, w, c] = spec.inputShape ?? [];
  for (const [k, v] of [['height', h], ['width', w], ['channels', c]] as const) {
    if (!Number.isInteger(v) || (v as number) < 1) throw new Error(`inputShape ${k} must be a positive integer, got ${v}`);
  }
  if (h < 32 || w < 32) throw new Error(`inputShape ${h}x${w} is too small for a detector (at least 32x32)`);
  if (!Number.isInteger(spec.numClasses) || spec.numClasses < 1) throw new Error(`numClasses must be an integer >= 1, got ${spec.numClasses}`);
  const headConvs = spec.headConvs ?? 2;
  if (!Number.isInteger(headConvs) || headConvs < 0) throw new Error(`headConvs must be a non-negative integer, got ${headConvs}`);
  const prior = spec.priorProbability ?? 0.01;
  if (!(prior > 0 && prior < 1)) throw new Error(`priorProbability must be in (0, 1), got ${prior}`);
  const anchorSizeFactor = spec.anchorSizeFactor ?? 4;
  const maxLevel = spec.maxLevel ?? retinaNetMaxLevel(h, w, anchorSizeFactor);
  const fpn = { width: spec.width, fpnChannels: spec.fpnChannels ?? 32, minLevel: RETINANET_MIN_LEVEL, maxLevel };
  validateFpnOptions(fpn);
  return { fpn, headConvs, prior, anchorSizeFactor };
}

/** The anchors matching `buildRetinaNet(spec)`'s outputs, row for row. */
export function retinaNetAnchors(spec: RetinaNetSpec): AnchorSet {
  const r = resolve(spec);
  return generateAnchors({
    imageSize: [spec.inputShape[0], spec.inputShape[1]], minLevel: r.fpn.minLevel, maxLevel: r.fpn.maxLevel,
    sizeFactor: r.anchorSizeFactor, scales: [...DEFAULT_ANCHOR_SCALES], aspectRatios: [...DEFAULT_ASPECT_RATIOS],
  });
}

/**
 * RetinaNet (Lin et al. 2017) at small scale: the FPN backbone (P3..maxLevel) and two subnets shared by
 * every level, each `headConvs` 3x3 ReLU convs then an output conv: the class subnet gives 9*K logits per
 * location (sigmoid outputs, bias at the prior pi so the focal loss starts stable), the box subnet 9*4
 * deltas (see box-coder). Outputs, concatenated over levels in anchor order (see generateAnchors):
 * [classLogits [B, N, K], boxDeltas [B, N, 4]].
 * Hidden head convs use He init rather than the paper's N(0, 0.01): with 32 channels instead of 256 the
 * latter shrinks activations ~6x per layer; the output convs keep N(0, 0.01).
 */
export function buildRetinaNet(spec: RetinaNetSpec): tf.LayersModel {
  const r = resolve(spec);
  const seeds = new SeedSequence(spec.seed);
  const k = spec.numClasses;
  const a = DEFAULT_ANCHOR_SCALES.length * DEFAULT_ASPECT_RATIOS.length;
  const channels = r.fpn.fpnChannels;
  const input = tf.input({ shape: spec.inputShape, name: 'image' });
  const levels = buildFpnBackbone(input, r.fpn, seeds);

  const subnet = (name: string, outputs: number, biasInit: tf.serialization.ConfigDict | 'zeros') => {
    const hidden = Array.from({ length: r.headConvs }, (_, i) => tf.layers.conv2d({
      name: `${name}_conv${i + 1}`, filters: channels, kernelSize: 3, padding: 'same', activation: 'relu',
      kernelInitializer: seeds.he(), biasInitializer: 'zeros',
    }));
    const output = tf.layers.conv2d({
      name: `${name}_output`, filters: outputs, kernelSize: 3, padding: 'same', kernelInitializer: seeds.normal(0.01),
      biasInitializer: biasInit === 'zeros' ? 'zeros' : tf.initializers.constant(biasInit as { value: number }),
    });
    return (x: tf.SymbolicTensor) => output.apply(hidden.reduce((h, l) => l.apply(h) as tf.SymbolicTensor, x)) as tf.SymbolicTensor;
  };
  const classNet = subnet('class_subnet', a * k, { value: -Math.log((1 - r.prior) / r.prior) });
  const boxNet = subnet('box_subnet', a * 4, 'zeros');

  const flat = (x: tf.SymbolicTensor, depth: number, name: string) => {
    const [, h, w] = x.shape as number[];
    return tf.layers.reshape({ name, targetShape: [h * w * a, depth] }).apply(x) as tf.SymbolicTensor;
  };
  const join = (xs: tf.SymbolicTensor[], name: string) =>
    xs.length === 1
      ? (tf.layers.activation({ name, activation: 'linear' }).apply(xs[0]) as tf.SymbolicTensor)
      : (tf.layers.concatenate({ name, axis: 1 }).apply(xs) as tf.SymbolicTensor);
  const minLevel = r.fpn.minLevel;
  const classLogits = join(levels.map((p, i) => flat(classNet(p), k, `class_flat_p${minLevel + i}`)), 'class_logits');
  const boxDeltas = join(levels.map((p, i) => flat(boxNet(p), 4, `box_flat_p${minLevel + i}`)), 'box_deltas');
  return tf.model({ inputs: input, outputs: [classLogits, boxDeltas], name: 'retinanet-small' });
}
