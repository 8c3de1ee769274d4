import { assertCheckpointFitsDataset, inputShapeOf } from '@selftrain/checkpoints';
import { inlineShardCodec, loadManifest, taskOf, verifyShardBytes, verifyShardRecordCount, type ImageRecord, type Task } from '@selftrain/data';
import { InputError, MAX_PREFIX_BYTES, NotFoundError, requireKey } from '@selftrain/errors';
import { checkTeacherModel, ONNX_BACKEND, mapTeacherClasses, TeacherModelCache, teacherModelDigest } from '@selftrain/export';
import { LabelStats, TeacherModel, type DatasetManifest, type LabelShardRequest, type LabelShardResponse, type Shard } from '@selftrain/proto';
import { assertOptionsFitTask, denseShardOptions } from './dense-shard-options';
import { TooFewPseudoLabelsError } from './dense-pseudo-label-guards';
import { classificationLabeler, labelClassification } from './label-classification-records';
import { detectionLabeler } from './label-detection-records';
import { segmentationLabeler } from './label-segmentation-records';
import { resolveLabelingOptions } from './labeling-options';
import { pseudoShardKeys, readFinishedShard, verifiedInputJson } from './pseudo-shard-output';
import type { LabelerDeps, LabelShardInput, ShardLabeling, TaskLabeler, TaskLabels } from './task-labeler';

export function validateLabelShardRequest(req: LabelShardRequest): LabelShardInput {
  const teacherModel = req.teacherModel ? checkTeacherModel(req.teacherModel) : undefined;
  if (teacherModel && req.checkpoint) throw new InputError('checkpoint', 'give checkpoint or teacher_model, not both');
  return {
    checkpoint: teacherModel ? '' : requireKey(req.checkpoint, 'checkpoint'),
    teacherModel,
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
 * teacher is a checkpoint or a user's ONNX or TF.js model (teacher_model), whose digest
 * and contract take the checkpoint's place in the key. A shard that keeps nothing is written and
 * reported, not refused: the driver's guard looks at all shards.
 * The shard's bytes must be the ones its manifest lists (sha256, then record count): anything else is
 * DATA_LOSS naming the shard, before a label is written. The reply's `input` is what this call verified.
 */
export async function labelShard(deps: LabelerDeps, input: LabelShardInput): Promise<LabelShardResponse> {
  if (input.teacherModel && !deps.teacherModels) {
    // No shared cache (a one-off caller): the session lives for this call only.
    const teacherModels = new TeacherModelCache(deps.store, 1);
    try {
      return await labelShard({ ...deps, teacherModels }, input);
    } finally {
      await teacherModels.close();
    }
  }
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
  const teacher = await openTeacher(deps, input, manifest, task, labeling);
  const keys = pseudoShardKeys(input.outputPrefix, teacher.digest, sha256, labeling.options);
  const finished = await readFinishedShard(deps.store, keys, teacher.backend);
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
  const infer = () => teacher.label(records);
  const labeled = await (deps.inference ? deps.inference.run(infer) : infer());
  if (labeled.keptNothing && records.length > 0) {
    deps.logger.warn({ shard: input.shard, threshold: labeling.options.threshold, task }, 'the teacher kept no pseudo-label on this shard');
  }
  const written = await deps.store.put(keys.shard, await codec.write(labeled.records), 'application/octet-stream');
  const output: Shard = { key: keys.shard, records: labeled.records.length, sha256: written.sha256, sizeBytes: written.sizeBytes };
  const statsArtifact = await deps.store.putJson(keys.stats, {
    output, labelStats: LabelStats.toJSON(labeled.labelStats), ...labeled.stats, input: verifiedInputJson(verified),
    ...teacher.provenance, options: labeling.options, seconds: (Date.now() - started) / 1000,
  });
  const l = labeled.labelStats;
  deps.logger.info({ shard: input.shard, task, kept: l.kept, dropped: l.dropped, boxes: l.boxes, ignoredPixels: l.ignoredPixels, ms: Date.now() - started }, 'labeled shard');
  return { output, stats: statsArtifact, labelStats: l, reused: false, backend: teacher.backend, input: verified };
}

/** The shard's teacher, opened: what goes in the output key, in the stats object, and what labels. */
interface OpenTeacher {
  digest: string;
  /** The inference engine, for the response. */
  backend: string;
  provenance: Record<string, unknown>;
  label(records: ImageRecord[]): Promise<TaskLabels>;
}

/**
 * A checkpoint (the model cache; checked against the dataset's task and preprocessing) or a user's model
 * (teacher_model: its classes mapped by name, its bytes checked against the sha256; detection and
 * segmentation through the task's labelWith).
 */
async function openTeacher(deps: LabelerDeps, input: LabelShardInput, manifest: DatasetManifest, task: Task, labeling: ShardLabeling): Promise<OpenTeacher> {
  const tm = input.teacherModel;
  if (!tm) {
    const { model, sha256: checkpointSha } = await deps.models.get(input.checkpoint);
    LABELERS[task].checkModel?.(model, manifest);
    const provenance = { checkpoint: { key: input.checkpoint, sha256: checkpointSha } };
    if (task === 'classification') {
      // A classifier sees the input it was trained on, or nothing: never a silent mis-scale.
      assertCheckpointFitsDataset(model, input.checkpoint, manifest, input.dataset);
      const onnx = await deps.checkpointSessions?.get(input.checkpoint, checkpointSha);
      if (onnx) {
        const o = input.options;
        const shape = inputShapeOf(manifest);
        // The same selection as on TF.js (labelClassification); the digest is the checkpoint's either way,
        // since both engines keep the same labels (bench-labeling).
        return {
          digest: checkpointSha, backend: ONNX_BACKEND, provenance,
          label: (records) => labelClassification((recs, temperature) => onnx.probabilities(recs.map((r) => r.image), shape, { batchSize: o.batchSize, temperature }), records, o, manifest.classNames.length),
        };
      }
    }
    return { digest: checkpointSha, backend: deps.backend, provenance, label: (records) => labeling.label(model, records) };
  }
  if (task !== 'classification') {
    const dense = await deps.teacherModels!.getDense(tm, task);
    return {
      digest: teacherModelDigest(tm), backend: ONNX_BACKEND,
      provenance: { checkpoint: { key: tm.model.key, sha256: tm.model.sha256 }, teacherModel: TeacherModel.toJSON(tm) },
      label: (records) => labeling.labelWith!(dense, records),
    };
  }
  const classMap = mapTeacherClasses(tm.classNames, manifest.classNames);
  const model = await deps.teacherModels!.get(tm);
  const o = input.options;
  return {
    digest: teacherModelDigest(tm),
    backend: model.engine ?? deps.backend,
    provenance: { checkpoint: { key: tm.model.key, sha256: tm.model.sha256 }, teacherModel: TeacherModel.toJSON(tm) },
    label: (records) => labelClassification((recs, temperature) => model.classProbabilities(recs, { batchSize: o.batchSize, temperature, classMap }), records, o, manifest.classNames.length),
  };
}

/** The driver's guard: a teacher that keeps (almost) nothing must not train a student on empty labels. */
export function assertEnoughPseudoLabels(kept: number, total: number, minFraction = 0.01): void {
  if (total > 0 && kept / total < minFraction) {
    throw new TooFewPseudoLabelsError(`the teacher kept ${kept} of ${total} pseudo-labels (< ${minFraction * 100}%); lower labeling.threshold or train a better teacher`);
  }
}
