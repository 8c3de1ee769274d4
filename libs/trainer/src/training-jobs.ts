import { createRng } from '@selftrain/random';
import { checkInitCheckpoint, checkpointSaver, describeInitMatch, initialModel, loadResumeState, loadWeightsInto, type InitialModel } from '@selftrain/checkpoints';
import { tf } from '@selftrain/compute';
import { loadManifest, readSplit, splitOf, streamShards, taskOf, type ImageRecord, type Task } from '@selftrain/data';
import { NotFoundError } from '@selftrain/errors';
import type { JobContext } from '@selftrain/jobs';
import { Progress, TrainResult, type DatasetManifest } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';
import {
  imagesToTensor, matchActivationScale, ShuffleBuffer, trainSimclr, type DenseExample, type Example, type PseudoLabelSettings,
} from '@selftrain/train';
import { shapeOf } from './dataset-examples';
import { classificationTrainer } from './train-classification-task';
import { detectionTrainer, segmentationTrainer } from './train-dense-task';
import type { TaskTrainer, TrainerDeps } from './task-trainer';
import type { StudentTrainingRequest, TrainingRequest } from './validate-requests';

const TRAINERS: { [T in Task]: TaskTrainer<T extends 'classification' ? Example : DenseExample> } = {
  classification: classificationTrainer,
  detection: detectionTrainer,
  segmentation: segmentationTrainer,
};

async function train(deps: TrainerDeps, req: TrainingRequest, ctx: JobContext, student?: StudentTrainingRequest): Promise<TrainResult> {
  if (req.options.objective === 'simclr') return pretrainSimclr(deps, req, ctx);
  const manifest = await loadManifest(deps.store, req.dataset);
  const task = taskOf(manifest);
  return trainTask(TRAINERS[task] as TaskTrainer<unknown>, task, deps, req, ctx, manifest, student);
}

/**
 * A teacher or student job of any task: the splits, the model (the job's init, or its last checkpoint
 * when the same job id is started again), the pseudo-label stream, the checkpoints; the task trains.
 */
async function trainTask<E>(
  trainer: TaskTrainer<E>, task: Task, deps: TrainerDeps, req: TrainingRequest, ctx: JobContext, manifest: DatasetManifest, student?: StudentTrainingRequest,
): Promise<TrainResult> {
  trainer.checkRequest?.(req, manifest);
  const labeled = await trainer.loadSplit(deps, manifest, req.dataset, req.trainSplit, 'train_split');
  const validation = await trainer.loadSplit(deps, manifest, req.dataset, req.validationSplit, 'validation_split');
  const shape = shapeOf(manifest);
  const initial = await initialModel(deps.store, req.options, shape, manifest.classNames.length, task);
  const { model } = initial;
  try {
    // The same job id started again after its process was lost: carry on from its last checkpoint.
    const resume = await loadResumeState(deps.store, req.outputPrefix, req.jobId);
    if (resume) {
      await loadWeightsInto(deps.store, model, resume.checkpoint);
      ctx.logger.warn({ step: resume.state.step, checkpoint: resume.checkpoint }, 'resuming an interrupted job from its last checkpoint');
    } else {
      reportInit(initial, req, ctx);
    }
    let pseudo: PseudoLabelSettings<E> | undefined;
    if (student) {
      const rng = createRng(req.options.seed + 7919);
      const open = () => mapRecords(streamShards(deps.store, student.pseudoShards, { verifySha256: true }), (r) => trainer.pseudoExample(r, manifest));
      pseudo = { sampler: new ShuffleBuffer<E>(open, trainer.pseudoBuffer, rng), fraction: student.pseudoFraction, alpha: student.alpha, normalizeLoss: student.normalizeLoss };
    }
    ctx.logger.info({ task, labeled: labeled.length, validation: validation.length, options: req.options }, 'training');
    const result = await trainer.train({
      deps, req, manifest, model, shape, labeled, validation, options: req.options, pseudo,
      saveCheckpoint: checkpointSaver(deps.store, model, req.outputPrefix, shape, {
        // Classification checkpoints never named their task (it is the default).
        jobId: req.jobId, dataset: req.dataset, model: req.options.model, width: req.options.width, ...(task === 'classification' ? {} : { task }), role: student ? 'student' : 'teacher',
      }),
      onProgress: (p, message, checkpoint) => ctx.progress(p, message, checkpoint),
      resume: resume?.state,
      signal: ctx.signal, logger: ctx.logger, backend: deps.backend.name,
    });
    result.init = initial.init;
    await deps.store.putJson(`${req.outputPrefix}/train-result.json`, TrainResult.toJSON(result));
    return result;
  } finally {
    model.dispose();
  }
}

/** The init's match, in the log and as the job's first event (TrainResult.init holds it all at the end). */
function reportInit({ init }: InitialModel, req: TrainingRequest, ctx: JobContext): void {
  if (!init) return;
  const line = `init ${init.checkpoint?.key} (digest ${init.digest.slice(0, 12)}): ${describeInitMatch(init)}`;
  ctx.logger.info({ init: { key: init.checkpoint?.key, digest: init.digest, matched: init.matched, skipped: init.skipped, unmatched: init.unmatched, unused: init.unused } }, line);
  ctx.progress(Progress.fromPartial({ step: 0, totalSteps: req.options.maxSteps }), line);
}

async function* mapRecords<E>(records: AsyncIterable<ImageRecord>, toExample: (r: ImageRecord) => E): AsyncGenerator<E> {
  for await (const r of records) yield toExample(r);
}

/**
 * SimCLR pretraining: the train split's images (labels, if any, unused; the unlabeled pool is the
 * usual choice), contrastive top-1 on the validation split's images as the progress metric. The
 * checkpoints are whole classifiers whose head stayed at its init: other jobs start from them through
 * options.init_checkpoint, which re-initialises the head.
 */
async function pretrainSimclr(deps: TrainerDeps, req: TrainingRequest, ctx: JobContext): Promise<TrainResult> {
  const manifest = await loadManifest(deps.store, req.dataset);
  const images = await readSplit(deps.store, manifest, req.trainSplit);
  const validation = await readSplit(deps.store, manifest, req.validationSplit);
  const initial = await initialModel(deps.store, req.options, shapeOf(manifest), manifest.classNames.length);
  const { model } = initial;
  let reference: tf.LayersModel | undefined;
  let probe: tf.Tensor4D | undefined;
  try {
    const resume = await loadResumeState(deps.store, req.outputPrefix, req.jobId);
    if (resume) {
      await loadWeightsInto(deps.store, model, resume.checkpoint);
      ctx.logger.warn({ step: resume.state.step, checkpoint: resume.checkpoint }, 'resuming an interrupted job from its last checkpoint');
    } else {
      reportInit(initial, req, ctx);
    }
    ctx.logger.info({ images: images.length, validation: validation.length, options: req.options }, 'SimCLR pretraining');
    const save = checkpointSaver(deps.store, model, req.outputPrefix, shapeOf(manifest), {
      jobId: req.jobId, dataset: req.dataset, model: req.options.model, width: req.options.width, role: 'pretrain-simclr',
    });
    // A fresh model of the same architecture: the scale the 'best' checkpoint (the init others start from) is brought to.
    reference = (await initialModel(deps.store, { ...req.options, initCheckpoint: '' }, shapeOf(manifest), manifest.classNames.length)).model;
    probe = imagesToTensor(validation.slice(0, 256), shapeOf(manifest));
    const result = await trainSimclr({
      model, shape: shapeOf(manifest), images, validation, options: req.options, temperature: req.options.contrastiveTemperature,
      // 'last' stays as trained (a resumed job continues from it); 'best' is saved at a fresh model's activation scale.
      saveCheckpoint: async (kind, step, meta, state) => {
        if (kind !== 'best') return save(kind, step, meta, state);
        const trained = model.getWeights().map((w) => w.clone());
        try {
          matchActivationScale(model, reference!, probe!);
          return await save(kind, step, { ...meta, activationScale: 'matched to a fresh model' }, state);
        } finally {
          model.setWeights(trained);
          tf.dispose(trained);
        }
      },
      onProgress: (p, message, checkpoint) => ctx.progress(p, message, checkpoint),
      resume: resume?.state, signal: ctx.signal, logger: ctx.logger, backend: deps.backend.name,
    });
    result.init = initial.init;
    await deps.store.putJson(`${req.outputPrefix}/train-result.json`, TrainResult.toJSON(result));
    return result;
  } finally {
    model.dispose();
    reference?.dispose();
    probe?.dispose();
  }
}

export function teacherJob(deps: TrainerDeps, req: TrainingRequest) {
  return (ctx: JobContext) => train(deps, req, ctx);
}

export function studentJob(deps: TrainerDeps, req: StudentTrainingRequest) {
  return (ctx: JobContext) => train(deps, req, ctx, req);
}

/**
 * Checked in the Start call, so a missing input is NOT_FOUND to the caller rather than a failed job
 * minutes later. Returns the dataset's manifest.
 */
export async function preflightTraining(store: ObjectStore, req: TrainingRequest | StudentTrainingRequest): Promise<DatasetManifest> {
  const manifest = await loadManifest(store, req.dataset);
  splitOf(manifest, req.trainSplit);
  splitOf(manifest, req.validationSplit);
  if (req.options.initCheckpoint) {
    // SimCLR pretrains a classifier's encoder whatever the dataset's labels are.
    const task = req.options.objective === 'simclr' ? 'classification' : taskOf(manifest);
    await checkInitCheckpoint(store, req.options, shapeOf(manifest), manifest.classNames.length, task);
  }
  const aux = req.options.auxiliaryDataset;
  if (aux) {
    const manifest = await loadManifest(store, aux).catch((err: unknown) => {
      throw err instanceof NotFoundError ? new NotFoundError(`options.auxiliary_dataset ${aux}`, `options.auxiliary_dataset: ${err.message}`) : err;
    });
    splitOf(manifest, 'labeled');
  }
  if ('pseudoShards' in req) {
    for (const [i, shard] of req.pseudoShards.entries()) {
      if (!(await store.exists(shard.key))) throw new NotFoundError(`pseudo_shards[${i}] ${shard.key}`);
    }
  }
  return manifest;
}
