import { assertCheckpointFitsTask, assertDetectorImageSize, detectorAnchors } from '@selftrain/checkpoints';
import type { tf } from '@selftrain/compute';
import { inlineShardCodec, type ImageRecord } from '@selftrain/data';
import { InputError } from '@selftrain/errors';
import { LabelStats, type DatasetManifest, type LabelShardResponse, type Shard } from '@selftrain/proto';
import type { ResolvedDetectionLabelingOptions, ResolvedSegmentationLabelingOptions } from './dense-labeling-options';
import { assertOptionsFitTask, denseShardOptions, detectionShardOptions, segmentationShardOptions } from './dense-shard-options';
import { labelDetectionRecords, retinaNetDetector } from './label-detection-records';
import { labelSegmentationRecords, multiScaleSegmenter } from './label-segmentation-records';
import type { LabelerDeps, LabelShardInput } from './label-shard';
import { pseudoShardKeys, readFinishedShard } from './pseudo-shard-output';
import type { DetectionLabelStats } from './select-pseudo-boxes';
import type { SegmentationLabelStats } from './select-pseudo-mask';

type DenseOptions =
  | ({ task: 'detection' } & ResolvedDetectionLabelingOptions)
  | ({ task: 'segmentation' } & ResolvedSegmentationLabelingOptions);

interface DenseLabels {
  records: ImageRecord[];
  labelStats: LabelStats;
  /** The library's statistics, kept in the stats object (the proto's LabelStats is their summary). */
  details: DetectionLabelStats | SegmentationLabelStats;
  keptNothing: boolean;
}

/**
 * labelShard for a detection or segmentation dataset: boxes (NMS or Soft-NMS, score >= threshold) or
 * multi-scale masks (ignore under threshold), written in the human record format with the same
 * digest-keyed, reuse-if-finished outputs as classification. A shard that keeps nothing is written
 * and reported, not refused: the driver's guard looks at all shards together.
 */
export async function labelDenseShard(
  deps: LabelerDeps, input: LabelShardInput, manifest: DatasetManifest, shardInfo: Shard, task: 'detection' | 'segmentation',
): Promise<LabelShardResponse> {
  const dense = input.dense ?? denseShardOptions(undefined);
  assertOptionsFitTask(task, input.options, dense);
  const numClasses = manifest.classNames.length;
  const options: DenseOptions = task === 'detection'
    ? { task, ...detectionShardOptions(dense) }
    : { task, ...segmentationShardOptions(dense, manifest.ignoreLabel) };
  const { model, sha256: checkpointSha } = await deps.models.get(input.checkpoint);
  assertCheckpointFitsTask(model, task, numClasses, manifest.channels);
  const keys = pseudoShardKeys(input.outputPrefix, checkpointSha, shardInfo.sha256, options);
  const finished = await readFinishedShard(deps.store, keys, deps.backend);
  if (finished) return finished;

  const started = Date.now();
  const codec = deps.codec ?? inlineShardCodec;
  const records = await codec.read(await deps.store.get(input.shard), input.shard);
  for (const r of records) {
    // height/width 0 in the manifest: the dataset's images differ in size.
    if ((manifest.height && r.height !== manifest.height) || (manifest.width && r.width !== manifest.width) || r.channels !== manifest.channels) {
      throw new InputError('shard', `record ${r.key} in ${input.shard} is ${r.height}x${r.width}x${r.channels}, the dataset is ${manifest.height}x${manifest.width}x${manifest.channels}`);
    }
  }
  const infer = () => (options.task === 'detection'
    ? detectionLabels(model, records, numClasses, options)
    : segmentationLabels(model, records, numClasses, options));
  const labeled = await (deps.inference ? deps.inference.run(infer) : infer());
  if (labeled.keptNothing && records.length > 0) {
    deps.logger.warn({ shard: input.shard, threshold: options.threshold, task }, 'the teacher kept no pseudo-label on this shard');
  }
  const written = await deps.store.put(keys.shard, await codec.write(labeled.records), 'application/octet-stream');
  const output: Shard = { key: keys.shard, records: labeled.records.length, sha256: written.sha256, sizeBytes: written.sizeBytes };
  const statsArtifact = await deps.store.putJson(keys.stats, {
    output, labelStats: LabelStats.toJSON(labeled.labelStats), task, [task]: labeled.details, input: { shard: input.shard, sha256: shardInfo.sha256 },
    checkpoint: { key: input.checkpoint, sha256: checkpointSha }, options, seconds: (Date.now() - started) / 1000,
  });
  deps.logger.info({ shard: input.shard, task, kept: labeled.labelStats.kept, boxes: labeled.labelStats.boxes, ignoredPixels: labeled.labelStats.ignoredPixels, ms: Date.now() - started }, 'labeled shard');
  return { output, stats: statsArtifact, labelStats: labeled.labelStats, reused: false, backend: deps.backend };
}

async function detectionLabels(model: tf.LayersModel, records: ImageRecord[], numClasses: number, o: ResolvedDetectionLabelingOptions): Promise<DenseLabels> {
  assertDetectorImageSize(model, records);
  const { records: out, stats } = await labelDetectionRecords(records, retinaNetDetector(model, detectorAnchors(model), o), numClasses, o);
  // Per the proto: kept/dropped count images, kept_per_class boxes, the histogram post-NMS scores.
  const labelStats: LabelStats = {
    records: stats.images, kept: stats.keptImages, dropped: stats.droppedImages, keptPerClass: stats.keptPerClass,
    droppedPerClass: stats.droppedPerClass, confidenceHistogram: stats.scoreHistogram, duplicated: 0,
    boxes: stats.boxes, imagesWithBoxes: stats.imagesWithBoxes, pixels: 0, ignoredPixels: 0,
  };
  return { records: out, labelStats, details: stats, keptNothing: stats.imagesWithBoxes === 0 };
}

async function segmentationLabels(model: tf.LayersModel, records: ImageRecord[], numClasses: number, o: ResolvedSegmentationLabelingOptions): Promise<DenseLabels> {
  const { records: out, stats } = await labelSegmentationRecords(records, multiScaleSegmenter(model, o.scales), numClasses, o);
  // Per the proto: every record is kept; kept_per_class counts pixels, the histogram pixel confidences.
  // Ignored pixels are not attributed to a class, so dropped_per_class stays empty.
  const labelStats: LabelStats = {
    records: stats.images, kept: stats.images, dropped: 0, keptPerClass: stats.pixelsPerClass, droppedPerClass: [],
    confidenceHistogram: stats.confidenceHistogram, duplicated: 0, boxes: 0, imagesWithBoxes: 0,
    pixels: stats.pixels, ignoredPixels: stats.ignoredPixels,
  };
  return { records: out, labelStats, details: stats, keptNothing: stats.ignoredPixels === stats.pixels };
}
