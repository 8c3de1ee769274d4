// What runs a model on images, whatever the engine: a selftrain checkpoint on TF.js, a selftrain-exported
// ONNX file on onnxruntime, later an external ONNX teacher. The job around it (predict-images.ts) decodes
// and fits the images, batches them, maps results back to the original pixels and writes the files; a
// predictor only turns a batch of fitted images into task-shaped results.
import { DEFAULT_CLASSIFICATION_FIT, type FitPolicy } from '@selftrain/data';

export type PredictTask = 'classification' | 'detection' | 'segmentation';

/** What a predictor's images must be: decoded to `channels`, fitted to height x width by `fit`. */
export interface PredictorInput {
  height: number;
  width: number;
  /** 1: grey; 3: sRGB (the decoder's own conversions). */
  channels: 1 | 3;
  /** How an image of another size is fitted (the dataset's resize policy). */
  fit: FitPolicy;
}

/** One detection, in model-input pixels (0..input.width, 0..input.height; pixel edges). */
export interface DetectedBox {
  xmin: number;
  ymin: number;
  xmax: number;
  ymax: number;
  score: number;
  /** Index into classNames (for selftrain detectors >= 1: 0 is the background). */
  label: number;
}

interface PredictorBase {
  /** Class names, index = the class ids results carry. */
  readonly classNames: readonly string[];
  readonly input: PredictorInput;
  /** What the model is, for messages ("checkpoint runs/x/model.json", "model.onnx"). */
  readonly source: string;
  /** Frees the model (TF.js tensors, the onnxruntime session). */
  close(): Promise<void>;
}

/**
 * Every `predict` takes a batch of images as uint8 HWC pixels of exactly input.height x input.width x
 * input.channels (what libs/data's decoder gives), any batch size, and returns one result per image in
 * order. Scaling and normalisation to the model's float input are the predictor's own business.
 */
export interface ClassificationPredictor extends PredictorBase {
  readonly task: 'classification';
  /** Class probabilities per image (length classNames.length, sum 1). */
  predict(images: readonly Uint8Array[]): Promise<Float32Array[]>;
}

export interface DetectionPredictor extends PredictorBase {
  readonly task: 'detection';
  /** Boxes per image after NMS, best first, in model-input pixels. */
  predict(images: readonly Uint8Array[]): Promise<DetectedBox[][]>;
}

export interface SegmentationPredictor extends PredictorBase {
  readonly task: 'segmentation';
  /** Per image a class map (argmax class id per pixel), input.height x input.width, row-major. */
  predict(images: readonly Uint8Array[]): Promise<Uint8Array[]>;
}

export type Predictor = ClassificationPredictor | DetectionPredictor | SegmentationPredictor;

export const PREDICT_TASKS: readonly PredictTask[] = ['classification', 'detection', 'segmentation'];

/**
 * The fit for a dataset whose manifest records none (its images already had the size): the one ingest
 * would have chosen for other sizes, center-crop for classification (ingest images' default) and
 * letterbox for detection and segmentation (the photo ingests' default, boxes and masks kept whole).
 */
export function defaultFit(task: PredictTask): FitPolicy {
  return task === 'classification' ? DEFAULT_CLASSIFICATION_FIT : 'letterbox';
}
