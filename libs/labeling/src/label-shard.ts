import type { ModelCache } from '@selftrain/checkpoints';
import { inlineShardCodec, loadManifest, taskOf, type ImageRecord, type ShardCodec } from '@selftrain/data';
import { InputError, MAX_PREFIX_BYTES, NotFoundError, requireKey } from '@selftrain/errors';
import type { Logger } from '@selftrain/logger';
import { confidenceHistogram } from '@selftrain/metrics';
import { LabelStats, type LabelShardRequest, type LabelShardResponse, type Shard } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';
import { predictProbabilities } from '@selftrain/train';
import { assertOptionsFitTask, denseShardOptions, type DenseShardOptions } from './dense-shard-options';
import { labelDenseShard } from './label-dense-shard';
import type { OneAtATime } from './one-at-a-time';
import { TooFewPseudoLabelsError } from './dense-pseudo-label-guards';
import { resolveLabelingOptions, type ResolvedLabelingOptions } from './labeling-options';
import { pseudoShardKeys, readFinishedShard } from './pseudo-shard-output';
import { selectPseudoLabels } from './select-pseudo-labels';

export interface LabelerDeps {
  store: ObjectStore;
  models: ModelCache;
  backend: string;
  logger: Logger;
  /** Where shards are decoded and encoded (default: this thread). See sharedLabelerParts. */
  codec?: ShardCodec;
  /** Inference, one shard at a time (default: each call runs its own at once). See sharedLabelerParts. */
  inference?: OneAtATime;
}

export interface LabelShardInput {
  checkpoint: string;
  dataset: string;
  shard: string;
  outputPrefix: string;
  options: ResolvedLabelingOptions;
  /** The detection / segmentation fields (absent: none set); which apply is known once the manifest is read. */
  dense?: DenseShardOptions;
}

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

export async function labelShard(deps: LabelerDeps, input: LabelShardInput): Promise<LabelShardResponse> {
  const manifest = await loadManifest(deps.store, input.dataset);
  const shardInfo = manifest.splits.flatMap((s) => s.shards).find((s) => s.key === input.shard);
  if (!shardInfo) throw new NotFoundError(`shard ${input.shard}`, `shard ${input.shard} is not in the manifest of ${input.dataset}`);
  const task = taskOf(manifest);
  if (task !== 'classification') return labelDenseShard(deps, input, manifest, shardInfo, task);
  if (input.dense) assertOptionsFitTask(task, input.options, input.dense);
  const { model, sha256: checkpointSha } = await deps.models.get(input.checkpoint);
  const keys = pseudoShardKeys(input.outputPrefix, checkpointSha, shardInfo.sha256, input.options);

  const finished = await readFinishedShard(deps.store, keys, deps.backend);
  if (finished) return finished;

  const started = Date.now();
  const codec = deps.codec ?? inlineShardCodec;
  const records = await codec.read(await deps.store.get(input.shard), input.shard);
  const numClasses = manifest.classNames.length;
  const shape = { height: manifest.height, width: manifest.width, channels: manifest.channels };
  for (const r of records) {
    if (r.height !== shape.height || r.width !== shape.width || r.channels !== shape.channels) {
      throw new InputError('shard', `record ${r.key} in ${input.shard} is ${r.height}x${r.width}x${r.channels}, the dataset is ${shape.height}x${shape.width}x${shape.channels}`);
    }
  }
  const infer = () => predictProbabilities(model, records.map((r) => r.image), shape, { batchSize: input.options.batchSize, temperature: input.options.soft ? input.options.temperature : 1 });
  const probs = await (deps.inference ? deps.inference.run(infer) : infer());
  const predictions = records.map((_, i) => {
    let label = 0;
    for (let c = 1; c < numClasses; c++) if (probs[i * numClasses + c] > probs[i * numClasses + label]) label = c;
    return { index: i, label, confidence: probs[i * numClasses + label] };
  });
  const selection = selectPseudoLabels(predictions, numClasses, input.options);
  const seen = new Set<number>();
  const out: ImageRecord[] = selection.kept.map((i, n) => ({
    ...records[i],
    // Duplicates get their own key, so every record key in a pseudo-label set is unique.
    key: seen.has(i) ? `${records[i].key}#dup${n}` : (seen.add(i), records[i].key),
    label: input.options.soft ? undefined : predictions[i].label,
    probabilities: input.options.soft ? probs.slice(i * numClasses, (i + 1) * numClasses) : undefined,
    confidence: predictions[i].confidence,
  }));
  const labelStats: LabelStats = {
    records: records.length, kept: selection.kept.length - selection.duplicated, dropped: records.length - (selection.kept.length - selection.duplicated),
    keptPerClass: selection.keptPerClass, droppedPerClass: selection.droppedPerClass,
    confidenceHistogram: confidenceHistogram(predictions.map((p) => p.confidence), 10), duplicated: selection.duplicated,
    boxes: 0, imagesWithBoxes: 0, pixels: 0, ignoredPixels: 0,
  };
  if (out.length === 0 && records.length > 0) {
    deps.logger.warn({ shard: input.shard, threshold: input.options.threshold }, 'no record of this shard passed the threshold');
  }
  const written = await deps.store.put(keys.shard, await codec.write(out), 'application/octet-stream');
  const output: Shard = { key: keys.shard, records: out.length, sha256: written.sha256, sizeBytes: written.sizeBytes };
  const statsArtifact = await deps.store.putJson(keys.stats, {
    output, labelStats: LabelStats.toJSON(labelStats), input: { shard: input.shard, sha256: shardInfo.sha256 },
    checkpoint: { key: input.checkpoint, sha256: checkpointSha }, options: input.options, seconds: (Date.now() - started) / 1000,
  });
  deps.logger.info({ shard: input.shard, kept: labelStats.kept, dropped: labelStats.dropped, ms: Date.now() - started }, 'labeled shard');
  return { output, stats: statsArtifact, labelStats, reused: false, backend: deps.backend };
}

/** The driver's guard: a teacher that keeps (almost) nothing must not train a student on empty labels. */
export function assertEnoughPseudoLabels(kept: number, total: number, minFraction = 0.01): void {
  if (total > 0 && kept / total < minFraction) {
    throw new TooFewPseudoLabelsError(`the teacher kept ${kept} of ${total} pseudo-labels (< ${minFraction * 100}%); lower labeling.threshold or train a better teacher`);
  }
}
