import { assertCheckpointFitsDataset } from '@selftrain/checkpoints';
import { inlineShardCodec, loadManifest, taskOf, verifyShardBytes, verifyShardRecordCount, type Task } from '@selftrain/data';
import { InputError, MAX_PREFIX_BYTES, NotFoundError, requireKey } from '@selftrain/errors';
import { LabelStats, type LabelShardRequest, type LabelShardResponse, type Shard } from '@selftrain/proto';
import { assertOptionsFitTask, denseShardOptions } from './dense-shard-options';
import { TooFewPseudoLabelsError } from './dense-pseudo-label-guards';
import { classificationLabeler } from './label-classification-records';
import { detectionLabeler } from './label-detection-records';
import { segmentationLabeler } from './label-segmentation-records';
import { resolveLabelingOptions } from './labeling-options';
import { pseudoShardKeys, readFinishedShard, verifiedInputJson } from './pseudo-shard-output';
import type { LabelerDeps, LabelShardInput, TaskLabeler } from './task-labeler';

export function validateLabelShardRequest(req: LabelShardRequest): LabelShardInput {
  return {
    checkpoint: requireKey(req.checkpoint, 'checkpoint'),
    dataset: requireKey(req.dataset, 'dataset', MAX_PREFIX_BYTES),
    shard: requireKey(req.shard, 'shard'),
    outputPrefix: requireKey(req.outputPrefix, 'output_prefix', MAX_PREFIX_BYTES),
    options: resolveLabelingOptions(req.options),
    dense: denseShardOptions(req.options),
  };
}

const LABELERS: Record<Task, TaskLabeler> = {
  classification: classificationLabeler,
  detection: detectionLabeler,
  segmentation: segmentationLabeler,
};

/**
 * Pseudo-labels one unlabeled shard with its dataset's task (classes, boxes or masks) and writes it in
 * the human record format beside its statistics. The output key is a digest of the checkpoint, the
 * shard and the task's options, so a finished shard is reused and a retried one overwrites itself. A
 * shard that keeps nothing is written and reported, not refused: the driver's guard looks at all shards.
 * The shard's bytes must be the ones its manifest lists (sha256, then record count): anything else is
 * DATA_LOSS naming the shard, before a label is written. The reply's `input` is what this call verified.
 */
export async function labelShard(deps: LabelerDeps, input: LabelShardInput): Promise<LabelShardResponse> {
  const manifest = await loadManifest(deps.store, input.dataset);
  const shardInfo = manifest.splits.flatMap((s) => s.shards).find((s) => s.key === input.shard);
  if (!shardInfo) throw new NotFoundError(`shard ${input.shard}`, `shard ${input.shard} is not in the manifest of ${input.dataset}`);
  const task = taskOf(manifest);
  assertOptionsFitTask(task, input.options, input.dense ?? denseShardOptions(undefined));
  const labeler = LABELERS[task];
  const labeling = labeler.resolve(input, manifest);
  // Checked before the finished-shard lookup too: a reply always vouches for the bytes in the bucket now.
  const bytes = await deps.store.get(input.shard);
  const sizeBytes = bytes.length; // the worker codec may take the buffer
  const sha256 = verifyShardBytes(bytes, shardInfo);
  const { model, sha256: checkpointSha } = await deps.models.get(input.checkpoint);
  labeler.checkModel?.(model, manifest);
  // A classifier sees the input it was trained on, or nothing: never a silent mis-scale.
  if (task === 'classification') assertCheckpointFitsDataset(model, input.checkpoint, manifest, input.dataset);
  const keys = pseudoShardKeys(input.outputPrefix, checkpointSha, sha256, labeling.options);
  const finished = await readFinishedShard(deps.store, keys, deps.backend);
  if (finished) {
    // Same bytes as when it was labeled (the digest is in the key), and the count decoded then.
    verifyShardRecordCount(finished.input!.records, shardInfo, sizeBytes);
    return finished;
  }

  const started = Date.now();
  const codec = deps.codec ?? inlineShardCodec;
  const records = await codec.read(bytes, input.shard);
  verifyShardRecordCount(records.length, shardInfo, sizeBytes);
  const verified: Shard = { key: input.shard, records: records.length, sha256, sizeBytes };
  for (const r of records) {
    // height/width 0 in the manifest: the dataset's images differ in size.
    if ((manifest.height && r.height !== manifest.height) || (manifest.width && r.width !== manifest.width) || r.channels !== manifest.channels) {
      throw new InputError('shard', `record ${r.key} in ${input.shard} is ${r.height}x${r.width}x${r.channels}, the dataset is ${manifest.height}x${manifest.width}x${manifest.channels}`);
    }
  }
  const infer = () => labeling.label(model, records);
  const labeled = await (deps.inference ? deps.inference.run(infer) : infer());
  if (labeled.keptNothing && records.length > 0) {
    deps.logger.warn({ shard: input.shard, threshold: labeling.options.threshold, task }, 'the teacher kept no pseudo-label on this shard');
  }
  const written = await deps.store.put(keys.shard, await codec.write(labeled.records), 'application/octet-stream');
  const output: Shard = { key: keys.shard, records: labeled.records.length, sha256: written.sha256, sizeBytes: written.sizeBytes };
  const statsArtifact = await deps.store.putJson(keys.stats, {
    output, labelStats: LabelStats.toJSON(labeled.labelStats), ...labeled.stats, input: verifiedInputJson(verified),
    checkpoint: { key: input.checkpoint, sha256: checkpointSha }, options: labeling.options, seconds: (Date.now() - started) / 1000,
  });
  const l = labeled.labelStats;
  deps.logger.info({ shard: input.shard, task, kept: l.kept, dropped: l.dropped, boxes: l.boxes, ignoredPixels: l.ignoredPixels, ms: Date.now() - started }, 'labeled shard');
  return { output, stats: statsArtifact, labelStats: l, reused: false, backend: deps.backend, input: verified };
}

/** The driver's guard: a teacher that keeps (almost) nothing must not train a student on empty labels. */
export function assertEnoughPseudoLabels(kept: number, total: number, minFraction = 0.01): void {
  if (total > 0 && kept / total < minFraction) {
    throw new TooFewPseudoLabelsError(`the teacher kept ${kept} of ${total} pseudo-labels (< ${minFraction * 100}%); lower labeling.threshold or train a better teacher`);
  }
}
