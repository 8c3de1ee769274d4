import { INPUT_METADATA_KEY, inputShapeOf } from '@selftrain/checkpoints';
import type { tf } from '@selftrain/compute';
import type { DatasetManifest } from '@selftrain/proto';

export type ExportTask = 'classification' | 'detection' | 'segmentation';

/** Where an exported model came from: what the checkpoint and its dataset's manifest record. */
export interface ExportSource {
  task: ExportTask;
  /** the checkpoint's model.json key and digest, when it came from the bucket */
  checkpoint?: { key: string; sha256?: string };
  /** the checkpoint's userDefinedMetadata (model, width, role, step, dataset, ...) */
  checkpointMetadata?: Record<string, unknown>;
  /** the manifest of the dataset it was trained on: class names and the preprocessing */
  manifest?: DatasetManifest;
  /** detector only: its anchors (flat normalized corner boxes [xmin, ymin, xmax, ymax], N x 4) and box variances */
  detection?: { anchors: ArrayLike<number>; variances: readonly number[] };
}

/** What each task's outputs are, for a reader of the file (the same text the ADR gives). */
const OUTPUTS: Record<ExportTask, string> = {
  classification: 'logits [batch, K] (softmax for probabilities; class k is class_names[k])',
  detection:
    'class_logits [batch, N, K] (sigmoid scores; output k is class_names[k + 1], 0 is the background) and box_deltas [batch, N, 4] '
    + '(dx, dy, dw, dh against the anchors, divided by box_variances); decode and NMS as in docs/adr/0006-model-export.md',
  segmentation: 'logits [batch, H, W, K] (softmax over the last axis; class k is class_names[k])',
};

/**
 * metadata_props of an exported model (also model.json's userDefinedMetadata for the TF.js export): the
 * preprocessing a caller must apply, read from what the checkpoint and manifest record rather than assumed.
 * Pixels go in as (pixel * pixel_scale - channel_mean) / channel_std, NHWC, channels in channel_order; a
 * model trained without a normalisation (no channel statistics in its manifest, or a detector or segmenter,
 * which always see pixel / 255) takes pixel * pixel_scale only, and the keys are left out.
 */
export function exportMetadata(model: tf.LayersModel, source: ExportSource): Record<string, string> {
  const [, h, w, c] = model.inputs[0].shape;
  const m = source.manifest;
  const meta: Record<string, string> = {
    producer: 'selftrain',
    task: source.task,
    input_name: model.inputNames[0],
    input_layout: 'NHWC',
    // The segmenter takes any size; its nominal one is the dataset's.
    input_height: String(h ?? m?.height ?? ''),
    input_width: String(w ?? m?.width ?? ''),
    input_size_fixed: String(h != null && w != null),
    channels: String(c),
    channel_order: c === 3 ? 'RGB' : c === 1 ? 'L' : `${c} channels`,
    pixel_scale: String(1 / 255),
    outputs: OUTPUTS[source.task],
  };
  if (m) {
    meta.class_names = JSON.stringify(m.classNames);
    if (m.resizePolicy) meta.resize_policy = m.resizePolicy;
    if (m.name) meta.dataset = m.name;
  }
  const norm = normalisationOf(source);
  if (norm) {
    meta.channel_mean = JSON.stringify(norm.mean);
    meta.channel_std = JSON.stringify(norm.std);
  }
  if (source.detection) {
    // Six decimals: a thousandth of a pixel on a 1000 px image, and a 96 px detector's anchors in ~40 kB.
    meta.anchors = JSON.stringify(Array.from(source.detection.anchors, (v) => Math.round(v * 1e6) / 1e6));
    meta.box_variances = JSON.stringify(source.detection.variances);
    meta.box_format = 'normalized corner boxes [xmin, ymin, xmax, ymax]';
  }
  const cm = source.checkpointMetadata ?? {};
  for (const key of ['model', 'width', 'role', 'step', 'kind', 'dataset', 'jobId'] as const) {
    const v = cm[key];
    if (v != null && (typeof v === 'string' || typeof v === 'number')) meta[`checkpoint_${key.replace(/[A-Z]/g, (x) => `_${x.toLowerCase()}`)}`] = String(v);
  }
  if (source.checkpoint) {
    meta.checkpoint = source.checkpoint.key;
    if (source.checkpoint.sha256) meta.checkpoint_sha256 = source.checkpoint.sha256;
  }
  return meta;
}

/**
 * The normalisation the model was trained with: the checkpoint's recorded input, else what its dataset's
 * manifest gives the task (inputShapeOf: detection and segmentation keep pixel / 255 even where a photo
 * ingest computed channel statistics). Undefined: pixel / 255 only.
 */
function normalisationOf(source: ExportSource): { mean: number[]; std: number[] } | undefined {
  const recorded = source.checkpointMetadata?.[INPUT_METADATA_KEY] as { mean?: number[]; std?: number[] } | undefined;
  const s = recorded ?? (source.manifest ? inputShapeOf(source.manifest) : undefined);
  return s?.mean?.length && s.std?.length ? { mean: [...s.mean], std: [...s.std] } : undefined;
}
