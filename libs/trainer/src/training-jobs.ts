import { tf } from '@selftrain/compute';
import type { BackendInfo } from '@selftrain/compute';
import { loadManifest, readSplit, splitOf, streamShards, taskOf } from '@selftrain/data';
import { InputError, NotFoundError } from '@selftrain/errors';
import type { JobContext } from '@selftrain/jobs';
import { TrainResult } from '@selftrain/proto';
import { createRng } from '@selftrain/random';
import type { ObjectStore } from '@selftrain/storage';
import { imagesToTensor, matchActivationScale, ShuffleBuffer, trainClassifier, trainSimclr, type AuxiliaryTask, type Example, type ImageShape } from '@selftrain/train';
import { loadLabeledSplit, shapeOf } from './dataset-examples';
import { trainDense } from './dense-training-jobs';
import { checkpointSaver, initialModel, loadResumeState, loadWeightsInto } from '@selftrain/checkpoints';
import type { StudentTrainingRequest, TrainingRequest } from './validate-requests';

export interface TrainerDeps {
  store: ObjectStore;
  backend: BackendInfo;
  /** Threads a classifier's training splits each batch over on wasm (the service's TRAIN_THREADS); default 1. */
  trainThreads?: number;
}

/** Pseudo-labeled records held at once while the student streams the pseudo-label shards. */
const PSEUDO_BUFFER = 8192;

async function train(deps: TrainerDeps, req: TrainingRequest, ctx: JobContext, student?: StudentTrainingRequest): Promise<TrainResult> {
  if (req.options.objective === 'simclr') return pretrainSimclr(deps, req, ctx);
  const manifest = await loadManifest(deps.store, req.dataset);
  const task = taskOf(manifest);
  if (task !== 'classification') return trainDense(deps, req, ctx, manifest, task, student);
  const labeled = await loadLabeledSplit(deps.store, req.dataset, req.trainSplit, 'train_split');
  const validation = await loadLabeledSplit(deps.store, req.dataset, req.validationSplit, 'validation_split');
  const numClasses = labeled.manifest.classNames.length;
  const model = await initialModel(deps.store, req.options, labeled.shape, numClasses);
  try {
    // The same job id started again after its process was lost: carry on from its last checkpoint.
    const resume = await loadResumeState(deps.store, req.outputPrefix, req.jobId);
    if (resume) {
      await loadWeightsInto(deps.store, model, resume.checkpoint);
      ctx.logger.warn({ step: resume.state.step, checkpoint: resume.checkpoint }, 'resuming an interrupted job from its last checkpoint');
    }
    let pseudo;
    if (student) {
      const shards = student.pseudoShards;
      const rng = createRng(req.options.seed + 7919);
      const open = () => mapRecords(streamShards(deps.store, shards, { verifySha256: true }), numClasses);
      pseudo = { sampler: new ShuffleBuffer<Example>(open, PSEUDO_BUFFER, rng), fraction: student.pseudoFraction, alpha: student.alpha, normalizeLoss: student.normalizeLoss };
    }
    const auxiliary = await loadAuxiliaryTask(deps.store, req, labeled.shape);
    ctx.logger.info({ labeled: labeled.examples.length, validation: validation.examples.length, auxiliary: auxiliary?.examples.length, options: req.options }, 'training');
    const result = await trainClassifier({
      model, shape: labeled.shape, numClasses, labeled: labeled.examples, validation: validation.examples, options: req.options, pseudo, auxiliary,
      saveCheckpoint: checkpointSaver(deps.store, model, req.outputPrefix, {
        jobId: req.jobId, dataset: req.dataset, model: req.options.model, width: req.options.width, role: student ? 'student' : 'teacher',
      }),
      onProgress: (p, message, checkpoint) => ctx.progress(p, message, checkpoint),
      resume: resume?.state,
      signal: ctx.signal, logger: ctx.logger, backend: deps.backend.name, threads: deps.trainThreads,
    });
    await deps.store.putJson(`${req.outputPrefix}/train-result.json`, TrainResult.toJSON(result));
    return result;
  } finally {
    model.dispose();
  }
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
  const model = await initialModel(deps.store, req.options, shapeOf(manifest), manifest.classNames.length);
  let reference: tf.LayersModel | undefined;
  let probe: tf.Tensor4D | undefined;
  try {
    const resume = await loadResumeState(deps.store, req.outputPrefix, req.jobId);
    if (resume) {
      await loadWeightsInto(deps.store, model, resume.checkpoint);
      ctx.logger.warn({ step: resume.state.step, checkpoint: resume.checkpoint }, 'resuming an interrupted job from its last checkpoint');
    }
    ctx.logger.info({ images: images.length, validation: validation.length, options: req.options }, 'SimCLR pretraining');
    const save = checkpointSaver(deps.store, model, req.outputPrefix, {
      jobId: req.jobId, dataset: req.dataset, model: req.options.model, width: req.options.width, role: 'pretrain-simclr',
    });
    // A fresh model of the same architecture: the scale the 'best' checkpoint (the init others start from) is brought to.
    reference = await initialModel(deps.store, { ...req.options, initCheckpoint: '' }, shapeOf(manifest), manifest.classNames.length);
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
    await deps.store.putJson(`${req.outputPrefix}/train-result.json`, TrainResult.toJSON(result));
    return result;
  } finally {
    model.dispose();
    reference?.dispose();
    probe?.dispose();
  }
}

/** Joint training's other task: the labeled split of options.auxiliary_dataset, with the task's image shape. */
async function loadAuxiliaryTask(store: ObjectStore, req: TrainingRequest, shape: ImageShape): Promise<AuxiliaryTask | undefined> {
  const prefix = req.options.auxiliaryDataset;
  if (!prefix) return undefined;
  const aux = await loadLabeledSplit(store, prefix, 'labeled', 'options.auxiliary_dataset');
  const dims = (s: ImageShape) => `${s.height}x${s.width}x${s.channels}`;
  if (dims(aux.shape) !== dims(shape)) {
    throw new InputError('options.auxiliary_dataset', `${prefix} has ${dims(aux.shape)} images, the task ${dims(shape)}`);
  }
  return { examples: aux.examples, numClasses: aux.manifest.classNames.length, weight: req.options.auxiliaryWeight };
}

async function* mapRecords(records: AsyncIterable<{ key: string; image: Uint8Array; label?: number; probabilities?: Float32Array }>, numClasses: number): AsyncGenerator<Example> {
  for await (const r of records) {
    if (r.label === undefined && !r.probabilities) throw new InputError('pseudo_shards', `record ${r.key} has neither a label nor probabilities`);
    if (r.probabilities && r.probabilities.length !== numClasses) throw new InputError('pseudo_shards', `record ${r.key} has ${r.probabilities.length} probabilities, expected ${numClasses}`);
    yield { image: r.image, label: r.label ?? 0, probabilities: r.probabilities };
  }
}

export function teacherJob(deps: TrainerDeps, req: TrainingRequest) {
  return (ctx: JobContext) => train(deps, req, ctx);
}

export function studentJob(deps: TrainerDeps, req: StudentTrainingRequest) {
  return (ctx: JobContext) => train(deps, req, ctx, req);
}

/** Checked in the Start call, so a missing input is NOT_FOUND to the caller rather than a failed job minutes later. */
export async function preflightTraining(store: ObjectStore, req: TrainingRequest | StudentTrainingRequest): Promise<void> {
  const manifest = await loadManifest(store, req.dataset);
  splitOf(manifest, req.trainSplit);
  splitOf(manifest, req.validationSplit);
  if (req.options.initCheckpoint && !(await store.exists(req.options.initCheckpoint))) {
    throw new NotFoundError(`options.init_checkpoint ${req.options.initCheckpoint}`);
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
}
