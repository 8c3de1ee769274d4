import { checkpointSaver, detectorAnchors, initialModel, loadResumeState, loadWeightsInto } from '@selftrain/checkpoints';
import { readSplit, splitOf, streamShards, type ImageRecord, type Task } from '@selftrain/data';
import { InputError } from '@selftrain/errors';
import type { JobContext } from '@selftrain/jobs';
import { IGNORE_LABEL } from '@selftrain/metrics';
import { TrainResult, type DatasetManifest } from '@selftrain/proto';
import { createRng } from '@selftrain/random';
import { ShuffleBuffer, trainDetector, trainSegmenter, type DenseExample, type DenseTrainingInput } from '@selftrain/train';
import { shapeOf } from './dataset-examples';
import type { TrainerDeps } from './training-jobs';
import type { StudentTrainingRequest, TrainingRequest } from './validate-requests';

/** Pseudo-labeled scenes held at once while the student streams the pseudo-label shards. */
const PSEUDO_BUFFER = 2048;

const toExample = (r: ImageRecord): DenseExample => ({ image: r.image, objects: r.objects, mask: r.mask });

/** A labeled split of a detection/segmentation dataset in memory (small: the labeled and val splits). */
async function denseSplit(deps: TrainerDeps, manifest: DatasetManifest, dataset: string, split: string, field: string, task: Task): Promise<DenseExample[]> {
  if (!splitOf(manifest, split).labeled) throw new InputError(field, `split ${split} of ${dataset} has no labels`);
  const records = await readSplit(deps.store, manifest, split);
  for (const r of records) {
    if (task === 'detection' ? !r.objects : !r.mask) throw new InputError(field, `record ${r.key} of split ${split} has no ${task === 'detection' ? 'boxes' : 'mask'}`);
  }
  return records.map(toExample);
}

/**
 * Teacher and student jobs on detection and segmentation datasets: the RetinaNet-style detector or
 * the FPN segmenter, the same loop plumbing as classification (checkpoints, resume, half human / half
 * pseudo batches under loss normalization); the validation metric is COCO box AP or mIoU.
 */
export async function trainDense(deps: TrainerDeps, req: TrainingRequest, ctx: JobContext, manifest: DatasetManifest, task: Task, student?: StudentTrainingRequest): Promise<TrainResult> {
  if (req.options.auxiliaryDataset) throw new InputError('options.auxiliary_dataset', `joint training is for classification; ${req.dataset} is a ${task} dataset`);
  const labeled = await denseSplit(deps, manifest, req.dataset, req.trainSplit, 'train_split', task);
  const validation = await denseSplit(deps, manifest, req.dataset, req.validationSplit, 'validation_split', task);
  const shape = shapeOf(manifest);
  const numClasses = manifest.classNames.length;
  const model = await initialModel(deps.store, req.options, shape, numClasses, task);
  try {
    const resume = await loadResumeState(deps.store, req.outputPrefix, req.jobId);
    if (resume) {
      await loadWeightsInto(deps.store, model, resume.checkpoint);
      ctx.logger.warn({ step: resume.state.step, checkpoint: resume.checkpoint }, 'resuming an interrupted job from its last checkpoint');
    }
    let pseudo: DenseTrainingInput['pseudo'];
    if (student) {
      const rng = createRng(req.options.seed + 7919);
      const open = () => denseRecords(streamShards(deps.store, student.pseudoShards, { verifySha256: true }), task);
      pseudo = { sampler: new ShuffleBuffer<DenseExample>(open, PSEUDO_BUFFER, rng), fraction: student.pseudoFraction, alpha: student.alpha, normalizeLoss: student.normalizeLoss };
    }
    ctx.logger.info({ task, labeled: labeled.length, validation: validation.length, options: req.options }, 'training');
    const common: DenseTrainingInput = {
      model, shape, labeled, validation, options: req.options, pseudo,
      saveCheckpoint: checkpointSaver(deps.store, model, req.outputPrefix, {
        jobId: req.jobId, dataset: req.dataset, model: req.options.model, width: req.options.width, task, role: student ? 'student' : 'teacher',
      }),
      onProgress: (p, message, checkpoint) => ctx.progress(p, message, checkpoint),
      resume: resume?.state, signal: ctx.signal, logger: ctx.logger, backend: deps.backend.name,
    };
    const result = task === 'detection'
      ? await trainDetector({ ...common, anchors: detectorAnchors(model), numClasses: numClasses - 1 })
      : await trainSegmenter({ ...common, numClasses, ignoreLabel: manifest.ignoreLabel || IGNORE_LABEL });
    await deps.store.putJson(`${req.outputPrefix}/train-result.json`, TrainResult.toJSON(result));
    return result;
  } finally {
    model.dispose();
  }
}

async function* denseRecords(records: AsyncIterable<ImageRecord>, task: Task): AsyncGenerator<DenseExample> {
  for await (const r of records) {
    if (task === 'detection' ? !r.objects : !r.mask) throw new InputError('pseudo_shards', `record ${r.key} has no pseudo ${task === 'detection' ? 'boxes' : 'mask'}`);
    yield toExample(r);
  }
}
