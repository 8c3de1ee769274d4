import { createHash } from 'node:crypto';
import { describeInitMatch } from '@selftrain/checkpoints';
import { DEFAULT_CLASSIFICATION_FIT, splitOf } from '@selftrain/data';
import { ConflictError, InputError } from '@selftrain/errors';
import { assertEnoughPseudoBoxes, assertEnoughPseudoLabels, assertEnoughPseudoPixels } from '@selftrain/labeling';
import type { Logger } from '@selftrain/logger';
import { LABELING_OPTIONS, requestFields, STUDENT_OPTIONS } from '@selftrain/options';
import {
  JobState, type Artifact, type EvaluateRequest, type EvaluateResponse, type Generation, type LabelingOptions, type LabelShardRequest,
  type LabelShardResponse, type LabelStats, type RunRecord, type Shard, type Stage, type StartJobResponse,
  type StartStudentRequest, type StartTeacherRequest, type TeacherModel, type TrainResult,
} from '@selftrain/proto';
import { call } from '@selftrain/rpc';
import type { ObjectStore } from '@selftrain/storage';
import { resolveReplicas, runOnReplicas } from './labeler-pool';
import { verifyLabeledInputs, verifyPseudoLabelSet } from './verify-pseudo-labels';
import { ProgressDisplay } from './progress-display';
import { loadRunRecord, saveRunRecord } from './run-record-store';
import type { ServiceClients } from './service-clients';
import { SCENE_DEFAULTS, TEACHER_MODEL_DEFAULTS, type RunSpec } from './spec';
import { publishTeacherModel } from './teacher-model-file';
import { trainOptionsFromSpec } from './train-options-from-spec';
import { ingestRunDataset } from './ingest-spec-dataset';
import { metricOf } from './task-metric';
import { runTrainingJob } from './training-job';
import { stageInitModel, type StageInitOptions, type StagedInit } from './stage-init-model';

export interface DriverDeps extends StageInitOptions {
  store: ObjectStore;
  clients: ServiceClients;
  logger: Logger;
  display: ProgressDisplay;
  requestId: string;
  /** Train and score generation 0's teacher only; a later full run of the same spec reuses it. */
  teacherOnly?: boolean;
}

/** The part of a spec that decides results (not where services run): reruns of it reuse stages. */
export function specDigest(spec: RunSpec): string {
  const { services: _s, local: _l, ...defining } = spec;
  return createHash('sha256').update(JSON.stringify(defining, withoutLaterDefaults)).digest('hex');
}

/** Keys added after runs existed: at their default they leave the digest as it was, so old runs still match. */
const LATER_DEFAULTS: Record<string, unknown> = {
  init_checkpoint: '', init_from_teacher: false, auxiliary_dataset: '', auxiliary_weight: 1, task: 'classification', soft_nms: false, drop_empty_images: false, scenes: SCENE_DEFAULTS,
  pixel_class_balance: 0, labeled: '', unlabeled: [], test: '', image_size: 0, resize: DEFAULT_CLASSIFICATION_FIT, skip_bad: false,
  ...TEACHER_MODEL_DEFAULTS,
};
function withoutLaterDefaults(key: string, value: unknown): unknown {
  return key in LATER_DEFAULTS && JSON.stringify(LATER_DEFAULTS[key]) === JSON.stringify(value) ? undefined : value;
}

const EVAL_DEADLINE_MS = 30 * 60_000;
const LABEL_DEADLINE_MS = 30 * 60_000;

function emptyStage(): Stage {
  return { state: 'pending', jobId: '', startedAt: '', finishedAt: '', outputs: [], inputs: [], error: '', seconds: 0, backend: '' };
}

function newGeneration(index: number): Generation {
  return { index, teacher: emptyStage(), labeling: emptyStage(), student: emptyStage(), evaluation: emptyStage(), pseudoShards: [] };
}

/**
 * Runs teacher -> labeler -> student -> evaluator for G generations (the student becomes the next
 * teacher). The run record in the bucket is updated after every stage; a stage that already succeeded
 * with this spec is reused, so a rerun (or --resume after a failure) continues where it stopped.
 */
export async function runPipeline(spec: RunSpec, deps: DriverDeps): Promise<RunRecord> {
  const { store, clients, display, logger } = deps;
  const digest = specDigest(spec);
  const now = new Date().toISOString();
  let record = await loadRunRecord(store, spec.name);
  if (record && record.specSha256 !== digest) {
    throw new ConflictError(`run ${spec.name} already exists with a different spec (${record.specSha256.slice(0, 12)}); give this spec another name`);
  }
  record ??= { runId: spec.name, specJson: JSON.stringify(spec), specSha256: digest, dataset: spec.dataset.prefix, generations: [], state: 'running', createdAt: now, updatedAt: now, error: '' };
  record.state = 'running';
  record.error = '';
  const rec = record;
  const save = () => saveRunRecord(store, rec);
  await save();

  const stage = async <T>(gen: Generation, name: 'teacher' | 'labeling' | 'student' | 'evaluation', work: (s: Stage) => Promise<T>): Promise<T | undefined> => {
    const s = gen[name] as Stage;
    if (s.state === 'succeeded') {
      display.finish(`gen ${gen.index} ${name}`, 'reused (finished earlier)');
      return undefined;
    }
    Object.assign(s, { state: 'running', startedAt: new Date().toISOString(), error: '' });
    await save();
    const t0 = Date.now();
    try {
      const out = await work(s);
      Object.assign(s, { state: 'succeeded', finishedAt: new Date().toISOString(), seconds: (Date.now() - t0) / 1000 });
      await save();
      return out;
    } catch (err) {
      Object.assign(s, { state: 'failed', finishedAt: new Date().toISOString(), seconds: (Date.now() - t0) / 1000, error: (err as Error).message });
      rec.state = 'failed';
      rec.error = `generation ${gen.index} ${name}: ${(err as Error).message}`;
      await save().catch((e: unknown) => logger.error({ err: e }, 'could not save the run record'));
      throw err;
    }
  };

  display.note(`run ${spec.name}: dataset ${spec.dataset.source}${spec.dataset.prefix ? ` -> ${spec.dataset.prefix}` : ''}`);
  const ingest = await ingestRunDataset(store, spec, display);
  const manifest = ingest.manifest;
  // A user's photos land at a prefix ingest derives from the files; every request names it.
  const dataset = ingest.prefix;
  rec.dataset = dataset;
  // A supervised baseline (--teacher-only) may keep every label: there is nothing to pseudo-label then.
  const hasUnlabeled = manifest.splits.some((s) => s.name === 'unlabeled');
  if (!hasUnlabeled && !deps.teacherOnly) {
    throw new InputError('dataset.unlabeled', `dataset ${dataset} has no unlabeled images to pseudo-label: name an unlabeled pool, keep fewer labels_per_class, or run the supervised baseline (selftrain run SPEC --teacher-only)`);
  }
  const unlabeled = hasUnlabeled ? splitOf(manifest, 'unlabeled') : { shards: [] as Shard[] };
  const datasetArtifact: Artifact = ingest.manifestArtifact;
  // A spec's init (path, URL, s3://) is copied into the bucket once per run, whichever stages use it.
  const inits = new Map<string, Promise<StagedInit | undefined>>();
  const stagedInit = (value: string, field: string) => {
    if (!inits.has(value)) inits.set(value, stageInitModel(store, value, field, deps));
    return inits.get(value) as Promise<StagedInit | undefined>;
  };
  /** The init a job started from: its source in the report, its model.json in the stage's inputs. */
  const initInputs = (result: TrainResult, init: StagedInit | undefined, label: string): Artifact[] => {
    if (!result.init) return [];
    result.init.source = init?.source ?? '';
    display.note(`${label}: init ${init?.source || result.init.checkpoint?.key}: ${describeInitMatch(result.init)}`);
    return result.init.checkpoint ? [result.init.checkpoint] : [];
  };
  // A user's model as generation 0's teacher: in the bucket under its sha256, checked against the dataset.
  const published = spec.teacher.source === 'zoo' ? undefined : await publishTeacherModel(store, spec, manifest, deps);
  const teacherModel = published?.contract;
  const recorded = rec.generations[0]?.teacherModel?.model?.sha256;
  if (teacherModel && recorded && recorded !== teacherModel.model.sha256) {
    throw new ConflictError(`run ${spec.name} was labeled by teacher.model with sha256 ${recorded.slice(0, 12)}; ${spec.teacher.model} is now ${teacherModel.model.sha256.slice(0, 12)}: give this spec another name`);
  }

  for (let g = 0; g < spec.generations; g++) {
    const gen = rec.generations[g] ?? newGeneration(g);
    rec.generations[g] = gen;
    const jobId = (role: string) => `${spec.name}-g${g}-${role}-${digest.slice(0, 10)}`;

    // Teacher: trained on human labels in generation 0 (or a user's model); afterwards the previous student.
    await stage(gen, 'teacher', async (s) => {
      if (g === 0 && teacherModel) {
        // Nothing trains: the model, as uploaded, is the teacher; its digest is in every label key after it.
        // The engine is onnxruntime's for ONNX; a TF.js model runs on each service's backend, which they report.
        gen.teacherModel = teacherModel;
        gen.teacherCheckpoint = teacherModel.model;
        Object.assign(s, { inputs: [teacherModel.model], outputs: [teacherModel.model], backend: published?.engine ?? '' });
        display.finish(`gen ${g} teacher`, `${teacherModel.source} model ${spec.teacher.model} (${teacherModel.source === 'tfjs' ? 'digest' : 'sha256'} ${teacherModel.model.sha256.slice(0, 12)})`);
        return;
      }
      if (g > 0) {
        const previous = rec.generations[g - 1];
        gen.teacherCheckpoint = previous.studentCheckpoint;
        s.inputs = previous.studentCheckpoint ? [previous.studentCheckpoint] : [];
        s.outputs = s.inputs;
        display.finish(`gen ${g} teacher`, `the student of generation ${g - 1}`);
        return;
      }
      const init = await stagedInit(spec.teacher.init_checkpoint, 'teacher.init_checkpoint');
      const request: StartTeacherRequest = {
        jobId: jobId('teacher'), dataset, trainSplit: 'labeled', validationSplit: 'val',
        options: trainOptionsFromSpec(spec.teacher, init?.key), outputPrefix: `runs/${spec.name}/gen${g}/teacher`,
      };
      const result = await runTrainingJob(deps, 'teacher', request, `gen ${g} teacher`);
      Object.assign(s, { jobId: request.jobId, inputs: [datasetArtifact, ...initInputs(result, init, `gen ${g} teacher`)], outputs: [result.bestCheckpoint!], backend: result.backend });
      gen.teacherCheckpoint = result.bestCheckpoint;
      gen.teacherTrain = result;
    });
    const teacherCkpt = gen.teacherCheckpoint!;
    // Generation 0's user's model goes to the labelers and the evaluator in place of a checkpoint.
    const teacherRef: TeacherRef = gen.teacherModel ? { teacherModel: gen.teacherModel } : { checkpoint: teacherCkpt.key };

    // Supervised only (an experiment's baseline): the teacher and its score; the same run continues later.
    if (deps.teacherOnly) {
      gen.teacherEval ??= await evaluate(teacherRef, 'test');
      await save();
      break;
    }

    // Pseudo-labels for every unlabeled shard, fanned out over the labelers with bounded concurrency.
    await stage(gen, 'labeling', async (s) => {
      const outputs = await labelAll(teacherRef, unlabeled.shards, g);
      verifyLabeledInputs(unlabeled.shards, outputs);
      gen.pseudoShards = outputs.map((o) => o.output!);
      gen.labelStats = sumStats(outputs.map((o) => o.labelStats!));
      assertEnoughForStudent(gen.labelStats, spec);
      Object.assign(s, { inputs: [teacherCkpt, ...unlabeled.shards.map(shardArtifact)], outputs: [...gen.pseudoShards.map(shardArtifact), ...outputs.map((o) => o.stats!)], backend: outputs[0]?.backend ?? '' });
      display.finish(`gen ${g} labeling`, `${keptSummary(gen.labelStats, spec.task)} (${outputs.filter((o) => o.reused).length} shards reused)`);
    });

    await stage(gen, 'student', async (s) => {
      await verifyPseudoLabelSet(store, unlabeled.shards, gen.labeling!.outputs.filter((a) => a.key.endsWith('.stats.json')), gen.pseudoShards);
      const st = spec.student;
      // init_from_teacher: the generation's teacher checkpoint (the spec checked the student can load it).
      const init = st.init_from_teacher ? { key: teacherCkpt.key, source: '' } : await stagedInit(st.init_checkpoint, 'student.init_checkpoint');
      const request: StartStudentRequest = {
        jobId: jobId('student'), dataset, trainSplit: 'labeled', validationSplit: 'val', pseudoShards: gen.pseudoShards,
        options: trainOptionsFromSpec(st, init?.key), outputPrefix: `runs/${spec.name}/gen${g}/student`,
        ...requestFields(STUDENT_OPTIONS, st as unknown as Record<string, unknown>),
        // The proto's flag is the negation (a proto3 bool is false when unset, and normalization is on by default).
        disableLossNormalization: !st.loss_normalization,
      };
      const result = await runTrainingJob(deps, 'student', request, `gen ${g} student`);
      Object.assign(s, { jobId: request.jobId, inputs: [datasetArtifact, ...gen.pseudoShards.map(shardArtifact), ...initInputs(result, init, `gen ${g} student`)], outputs: [result.bestCheckpoint!], backend: result.backend });
      gen.studentCheckpoint = result.bestCheckpoint;
      gen.studentTrain = result;
    });

    await stage(gen, 'evaluation', async (s) => {
      const studentCkpt = gen.studentCheckpoint!;
      const dense = spec.task !== 'classification';
      const steps = dense ? 2 : 3;
      display.update(`gen ${g} evaluation`, 0, steps);
      gen.teacherEval = await evaluate(teacherRef, 'test', 0.5, dense ? `runs/${spec.name}/gen${g}/predictions/teacher` : '');
      display.update(`gen ${g} evaluation`, 1, steps);
      // The accuracy of the teacher's confident predictions (classification's pseudo-label accuracy).
      if (!dense) gen.teacherValEval = await evaluate(teacherRef, 'val', spec.labeling.threshold);
      display.update(`gen ${g} evaluation`, steps - 1, steps);
      gen.studentEval = await evaluate({ checkpoint: studentCkpt.key }, 'test', 0.5, dense ? `runs/${spec.name}/gen${g}/predictions/student` : '');
      Object.assign(s, { inputs: [teacherCkpt, studentCkpt, datasetArtifact], outputs: [gen.teacherEval.predictions, gen.studentEval.predictions].filter((a): a is Artifact => !!a?.key), backend: gen.studentEval.backend });
      const m = metricOf(spec.task);
      display.finish(`gen ${g} evaluation`, `teacher ${m.format(gen.teacherEval)} -> student ${m.format(gen.studentEval)} ${m.name} on test`);
    });
  }
  // A teacher-only pass leaves the run open: the rest of the loop has not run.
  rec.state = deps.teacherOnly ? 'partial' : 'succeeded';
  await save();
  return rec;

  async function labelAll(teacher: TeacherRef, shards: Shard[], g: number): Promise<LabelShardResponse[]> {
    const total = shards.reduce((n, s) => n + s.records, 0);
    const cap = spec.labeling.per_class_cap || Math.ceil(total / manifest.classNames.length);
    const label = `gen ${g} labeling`;
    // Resolved now, not at start: replicas scaled up since the last stage get work too.
    const replicas = (await resolveReplicas(clients.labelerEntries)).map((r) => ({ ...r, client: clients.labelerFor(r) }));
    display.note(`${label}: ${replicas.length} labeler replica(s): ${replicas.map((r) => r.address).join(' ')}`);
    let done = 0;
    display.update(label, 0, shards.length);
    try {
      return await runOnReplicas(replicas, shards, (replica, shard) => {
        const request: LabelShardRequest = {
          checkpoint: '', ...teacher, dataset, shard: shard.key, outputPrefix: `runs/${spec.name}/gen${g}/pseudo`,
          // Every label-changing option as the spec holds it; the inference batch size is the labeler's.
          options: {
            ...(requestFields(LABELING_OPTIONS, spec.labeling) as unknown as LabelingOptions), scales: [],
            // Noisy Student's per-class cap K is over the whole set; each shard gets its share.
            perClassCap: spec.labeling.balance ? Math.max(1, Math.round((cap * shard.records) / total)) : 0,
          },
        };
        // The output key is a digest of the inputs: a retry on another replica overwrites, never duplicates.
        return call<LabelShardRequest, LabelShardResponse>(replica.client, replica.client.labelShard as never, 'LabelShard', request, { deadlineMs: LABEL_DEADLINE_MS, requestId: deps.requestId });
      }, {
        perReplica: spec.labeling.concurrency, maxAttempts: Math.max(3, 2 * replicas.length), logger,
        onDone: () => display.update(label, ++done, shards.length),
      });
    } finally {
      for (const r of replicas) r.client.close();
    }
  }

  function evaluate(model: TeacherRef, split: string, threshold = 0.5, predictionsPrefix = ''): Promise<EvaluateResponse> {
    const request: EvaluateRequest = { checkpoint: '', ...model, dataset, split, batchSize: spec.task === 'classification' ? 256 : 16, threshold, predictionsPrefix };
    return call<EvaluateRequest, EvaluateResponse>(clients.evaluator, clients.evaluator.evaluate as never, 'Evaluate', request, { deadlineMs: EVAL_DEADLINE_MS, requestId: deps.requestId });
  }
}

/** What the labelers and the evaluator are sent: a checkpoint key, or a user's model. */
type TeacherRef = { checkpoint: string } | { teacherModel: TeacherModel };

function shardArtifact(s: Shard): Artifact {
  return { key: s.key, sha256: s.sha256, sizeBytes: s.sizeBytes };
}

/** When the teacher kept (almost) nothing, stop before a student trains on empty labels. */
function assertEnoughForStudent(stats: LabelStats, spec: RunSpec): void {
  const min = spec.labeling.min_kept_fraction;
  if (spec.task === 'detection') assertEnoughPseudoBoxes({ images: stats.records, imagesWithBoxes: stats.imagesWithBoxes, boxes: stats.boxes }, min);
  else if (spec.task === 'segmentation') assertEnoughPseudoPixels({ pixels: stats.pixels, ignoredPixels: stats.ignoredPixels }, min);
  else assertEnoughPseudoLabels(stats.kept, stats.records, min);
}

function keptSummary(stats: LabelStats, task: RunSpec['task']): string {
  if (task === 'detection') return `${stats.boxes} boxes on ${stats.imagesWithBoxes} of ${stats.records} images (${(stats.boxes / Math.max(1, stats.records)).toFixed(2)} per image), ${stats.kept} images kept`;
  if (task === 'segmentation') return `${stats.records} masks, ${((100 * stats.ignoredPixels) / Math.max(1, stats.pixels)).toFixed(1)} % of pixels ignored`;
  return `kept ${stats.kept} of ${stats.records}`;
}

export function sumStats(all: LabelStats[]): LabelStats {
  const add = (a: number[], b: number[]) => (a.length ? a.map((x, i) => x + (b[i] ?? 0)) : [...b]);
  return all.reduce<LabelStats>((acc, s) => ({
    records: acc.records + s.records, kept: acc.kept + s.kept, dropped: acc.dropped + s.dropped,
    keptPerClass: add(acc.keptPerClass, s.keptPerClass), droppedPerClass: add(acc.droppedPerClass, s.droppedPerClass),
    confidenceHistogram: add(acc.confidenceHistogram, s.confidenceHistogram), duplicated: acc.duplicated + s.duplicated,
    boxes: acc.boxes + s.boxes, imagesWithBoxes: acc.imagesWithBoxes + s.imagesWithBoxes, pixels: acc.pixels + s.pixels, ignoredPixels: acc.ignoredPixels + s.ignoredPixels,
  }), { records: 0, kept: 0, dropped: 0, keptPerClass: [], droppedPerClass: [], confidenceHistogram: [], duplicated: 0, boxes: 0, imagesWithBoxes: 0, pixels: 0, ignoredPixels: 0 });
}
