// A selftrain checkpoint (model.json in the bucket) on TF.js, run as the labeler and the evaluator run
// it: the input the checkpoint recorded (size, channels, normalisation), the class names and resize
// policy of the dataset it was trained on, the zoo's detector anchors and decoding.
import { checkpointInput, detectorAnchors } from '@selftrain/checkpoints';
import { initBackend, tf } from '@selftrain/compute';
import { FIT_POLICIES, loadManifest, type FitPolicy } from '@selftrain/data';
import { InputError, NotFoundError } from '@selftrain/errors';
import { openOnnxCheckpointClassifier } from '@selftrain/export';
import type { DatasetManifest } from '@selftrain/proto';
import { loadModelFromBucket, readCheckpointMetadata, type ObjectStore } from '@selftrain/storage';
import { detect, imagesToTensor, predictProbabilities, type ImageShape } from '@selftrain/train';
import { defaultFit, PREDICT_TASKS, type DetectedBox, type Predictor, type PredictTask } from './predictor';
import { argmaxMaps, toPixelBoxes } from './task-outputs';

export interface CheckpointPredictorOptions {
  /**
   * What runs a classification checkpoint (classificationEngine, libs/compute): 'onnxruntime' exports it
   * in memory and runs it there on every core (TF.js when the exporter cannot write it); default TF.js.
   * Detection and segmentation checkpoints run on TF.js.
   */
  engine?: 'onnxruntime' | 'tfjs';
}

/**
 * A Predictor for the checkpoint `checkpoint` (a model.json key of `store`). InputError naming the
 * checkpoint when it is not there, records an unknown task, has no dataset (its class names), or its
 * outputs do not fit its task.
 */
export async function openCheckpointPredictor(store: ObjectStore, checkpoint: string, options: CheckpointPredictorOptions = {}): Promise<Predictor> {
  const meta = await readCheckpointMetadata(store, checkpoint).catch((err: unknown) => {
    if (err instanceof NotFoundError) throw new InputError('MODEL', `no checkpoint ${checkpoint} in the bucket`, { cause: err });
    throw err;
  }) ?? {};
  const task = (meta.task ?? 'classification') as PredictTask;
  if (!PREDICT_TASKS.includes(task)) throw new InputError(checkpoint, `records task ${JSON.stringify(meta.task)}; known: ${PREDICT_TASKS.join(', ')}`);
  const manifest = await datasetOf(store, checkpoint, meta.dataset);
  await initBackend({ purpose: 'infer' });
  const model = await loadModelFromBucket(store, checkpoint);
  let predictor: Predictor;
  try {
    predictor = fromModel(model, task, manifest, checkpoint);
  } catch (err) {
    model.dispose();
    throw err;
  }
  if (predictor.task !== 'classification' || options.engine !== 'onnxruntime') return predictor;
  const shape = modelShape(model, manifest);
  const onnx = await openOnnxCheckpointClassifier(store, checkpoint, { logger: { warn: (_fields, message) => process.stderr.write(`${checkpoint}: ${message}\n`) } });
  if (!onnx) return predictor;
  await predictor.close();
  const k = predictor.classNames.length;
  return {
    ...predictor,
    close: () => onnx.release(),
    async predict(images) {
      if (images.length === 0) return [];
      const probs = await onnx.probabilities(images, shape, { batchSize: images.length });
      return Array.from({ length: images.length }, (_, i) => probs.slice(i * k, (i + 1) * k));
    },
  };
}

/** The input the checkpoint was trained on; a segmenter takes any size, its nominal one is the dataset's. */
function modelShape(model: tf.LayersModel, manifest: DatasetManifest): ImageShape {
  const recorded = checkpointInput(model);
  return { ...recorded, height: recorded.height || manifest.height, width: recorded.width || manifest.width };
}

/** The manifest of the dataset the checkpoint was trained on: where its class names and resize policy are. */
async function datasetOf(store: ObjectStore, checkpoint: string, dataset: unknown): Promise<DatasetManifest> {
  if (typeof dataset !== 'string' || dataset === '') {
    throw new InputError(checkpoint, 'records no "dataset" in its metadata: predict reads the class names and resize policy from the dataset a checkpoint was trained on');
  }
  return loadManifest(store, dataset).catch((err: unknown) => {
    if (err instanceof NotFoundError) throw new InputError(checkpoint, `was trained on dataset ${dataset}, whose manifest is no longer in the bucket (predict needs its class names and resize policy)`, { cause: err });
    throw err;
  });
}

function fromModel(model: tf.LayersModel, task: PredictTask, manifest: DatasetManifest, source: string): Predictor {
  const shape = modelShape(model, manifest);
  const channels = shape.channels;
  if (channels !== 1 && channels !== 3) throw new InputError(source, `takes ${channels} channels; predict decodes images to 1 (grey) or 3 (RGB)`);
  const fit = (FIT_POLICIES as readonly string[]).includes(manifest.resizePolicy) ? manifest.resizePolicy as FitPolicy : defaultFit(task);
  const input = { height: shape.height, width: shape.width, channels, fit } as const;
  const classNames = [...manifest.classNames];
  const outputs = model.outputs.map((o) => `[${o.shape.map((d) => d ?? 'batch').join(', ')}]`).join(', ');
  const mismatch = (want: string) => new InputError(source, `records task ${task} with ${classNames.length} classes, but the model outputs ${outputs} (a ${task} model gives ${want})`);
  const base = { classNames, input, source, close: async () => { model.dispose(); } };
  const out = model.outputs[0].shape;
  switch (task) {
    case 'classification':
      if (model.outputs.length !== 1 || out.length !== 2 || out[1] !== classNames.length) throw mismatch(`[batch, ${classNames.length}]`);
      return {
        ...base, task,
        async predict(images) {
          if (images.length === 0) return [];
          const probs = await predictProbabilities(model, [...images], shape, { batchSize: images.length });
          const k = classNames.length;
          return Array.from({ length: images.length }, (_, i) => probs.slice(i * k, (i + 1) * k));
        },
      };
    case 'detection': {
      if (model.outputs.length !== 2 || out.length !== 3 || out[2] !== classNames.length - 1) throw mismatch(`[batch, anchors, ${classNames.length - 1}] class logits and box deltas (class 0 is the background)`);
      const anchors = detectorAnchors(model);
      return {
        ...base, task,
        async predict(images): Promise<DetectedBox[][]> {
          if (images.length === 0) return [];
          const batch = imagesToTensor(images.map((image) => ({ image })), shape);
          try {
            return (await detect(model, batch, anchors)).map((boxes) => toPixelBoxes(boxes, input));
          } finally {
            batch.dispose();
          }
        },
      };
    }
    case 'segmentation':
      if (model.outputs.length !== 1 || out.length !== 4 || out[3] !== classNames.length) throw mismatch(`[batch, H, W, ${classNames.length}]`);
      return {
        ...base, task,
        async predict(images) {
          if (images.length === 0) return [];
          const logits = tf.tidy(() => model.predict(imagesToTensor(images.map((image) => ({ image })), shape)) as tf.Tensor4D);
          try {
            return argmaxMaps(await logits.data(), images.length, shape.height * shape.width, classNames.length);
          } finally {
            logits.dispose();
          }
        },
      };
  }
}
