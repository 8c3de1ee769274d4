import { AUGMENT_LEVELS, MODEL_NAMES, OBJECTIVES } from './choices';
import type { BooleanOption, ChoiceOption, NumberOption, Option, TextOption } from './option';

const MAX = Number.MAX_SAFE_INTEGER;

/**
 * TrainOptions (teacher and student), keyed by the name of the resolved option. Defaults by task and role:
 * the classification defaults are tuned for 28x28 classifiers (docs/tuning-fashion-mnist.md); a detection
 * or segmentation run gets its task's model, smaller batches, a learning rate the detector's focal loss
 * stays finite with, and longer warmup.
 * Detection, measured on the scenes with one 16.40 AP teacher (README): its boxes at score >= 0.5 are 0.74
 * per image against ~3.5 human ones, and the student fell to 10.69; at 0.4, images without a box dropped,
 * 2.73 per image. The student learns them under FlipCrop (S1: 16.74, +0.33), not under AutoAugment
 * (S2: 14.17) nor without augmentation (14.07). Soft-NMS boxes gave 17.66, and 4,500 student steps 19.46
 * (+3.06, also in a whole default loop). The segmentation student under S1 as well: 34.06 -> 36.79 mIoU
 * (+2.73), against 32.59 (-1.47) under S2.
 */
export const TRAIN_OPTIONS = {
  /** A user's photos get the residual classifier (its stem fits the input size: libs/models' resnet18). */
  model: { spec: 'model', proto: 'model', type: 'choice', choices: MODEL_NAMES, default: 'cnn-small', by: { detection: 'retinanet', segmentation: 'segmenter', photos: 'resnet18' } } as ChoiceOption,
  /**
   * Channel multiplier; the student is wider than the teacher (Noisy Student's equal-or-larger student).
   * Photos: ResNet-18 at half width (32-256 channels, ~0.14 G multiply-adds per 32x32 image), teacher and
   * student alike, what two cores train in a 45-minute run (README, "Bring your own images").
   */
  width: { spec: 'width', proto: 'width', type: 'number', min: 0.125, max: 8, default: 0.5, by: { student: 0.75, detection: 0.5, segmentation: 0.5, 'photos.student': 0.5 } } as NumberOption,
  batchSize: { spec: 'batch_size', proto: 'batchSize', type: 'number', integer: true, min: 2, max: 4096, default: 64, by: { student: 128, detection: 16, segmentation: 8 } } as NumberOption,
  /**
   * Photos: the student, which starts from its teacher under RandAugment, gets the rest of a 45-minute run
   * on two cores (README, "CIFAR-10, 4,000 labels": ~0.53 s a step of 128 for ResNet-18 w0.5 at 32 px).
   */
  maxSteps: { spec: 'max_steps', proto: 'maxSteps', type: 'number', integer: true, min: 1, max: 10_000_000, default: 2000, by: { student: 4000, detection: 3000, 'detection.student': 4500, segmentation: 3000, photos: 2000, 'photos.student': 2800 } } as NumberOption,
  learningRate: { spec: 'learning_rate', proto: 'learningRate', type: 'number', min: 1e-7, max: 10, default: 0.05, by: { detection: 0.01 } } as NumberOption,
  momentum: { spec: 'momentum', proto: 'momentum', type: 'number', min: 0, max: 0.999, default: 0.9 } as NumberOption,
  weightDecay: { spec: 'weight_decay', proto: 'weightDecay', type: 'number', min: 0, max: 0.1, default: 5e-4 } as NumberOption,
  warmupSteps: { spec: 'warmup_steps', proto: 'warmupSteps', type: 'number', integer: true, min: 0, max: MAX, default: 50, by: { detection: 100, segmentation: 100 } } as NumberOption,
  checkpointEvery: { spec: 'checkpoint_every', proto: 'checkpointEvery', type: 'number', integer: true, min: 1, max: MAX, default: 500 } as NumberOption,
  evalEvery: { spec: 'eval_every', proto: 'evalEvery', type: 'number', integer: true, min: 1, max: MAX, default: 200, by: { student: 250, detection: 500, segmentation: 500 } } as NumberOption,
  /** Early stopping: evaluations without improvement before stopping (0 = never stop early). */
  patience: { spec: 'patience', proto: 'patience', type: 'number', integer: true, min: 0, max: MAX, default: 0 } as NumberOption,
  /**
   * Photos: the student under S2 (RandAugment), as in the paper, since it starts from its teacher
   * (initFromTeacher). CIFAR-10, 4,000 labels, one 66.16 % teacher and its pseudo-labels, 2,000 student
   * steps (README, ADR 0011): from the teacher's weights 70.11 under S2 against 69.16 under S1; from a random
   * init S2 lost (64.34 against 67.57 under S1, ADR 0008): its noise costs more steps than a cold student has.
   */
  augment: { spec: 'augment', proto: 'augment', type: 'choice', choices: AUGMENT_LEVELS, default: 's1', by: { student: 's2', detection: 's1', segmentation: 's1' } } as ChoiceOption,
  /** The dense models have no dropout layer: 0 there says so. */
  dropout: { spec: 'dropout', proto: 'dropout', type: 'number', min: 0, max: 0.95, default: 0.3, by: { detection: 0, segmentation: 0 } } as NumberOption,
  /** Photos: the student's model noise besides dropout (Noisy Student: survival 0.8 at the last block). */
  stochasticDepth: { spec: 'stochastic_depth', proto: 'stochasticDepth', type: 'number', min: 0, max: 0.95, default: 0, by: { 'photos.student': 0.2 } } as NumberOption,
  seed: { spec: 'seed', proto: 'seed', type: 'number', integer: true, min: 0, max: 2 ** 31 - 1, default: 1 } as NumberOption,
  /**
   * A TF.js LayersModel to start from (a selftrain checkpoint, e.g. pretrained on another label space, or
   * a stock model), its weights matched to the model's layers by name and shape: in a spec a path, an
   * s3://BUCKET/KEY or http(s) URL (the driver copies it into the bucket under its digest) or a model.json
   * key in the bucket; on the wire a key. '' = random init.
   */
  initCheckpoint: { spec: 'init_checkpoint', proto: 'initCheckpoint', type: 'text', default: '' } as TextOption,
  /** RandAugment: number of ops and magnitude (1-10, the reference code's scale). */
  randAugmentN: { spec: 'randaugment_n', proto: 'randaugmentN', type: 'number', integer: true, min: 1, max: 6, default: 2 } as NumberOption,
  randAugmentM: { spec: 'randaugment_m', proto: 'randaugmentM', type: 'number', integer: true, min: 1, max: 10, default: 9 } as NumberOption,
  labelSmoothing: { spec: 'label_smoothing', proto: 'labelSmoothing', type: 'number', min: 0, max: 0.5, default: 0 } as NumberOption,
  /**
   * Segmentation: per-pixel loss weight n_c^-p by the pixel's class count in its half-batch; 0 = plain
   * mean. Teacher and student alike, so the student's gain is self-training's, not a different loss's.
   */
  pixelClassBalance: { spec: 'pixel_class_balance', proto: 'pixelClassBalance', type: 'number', min: 0, max: 1, default: 0, by: { segmentation: 0.5 } } as NumberOption,
  /** Joint training: a dataset prefix whose labeled split trains an auxiliary head alongside ('' = off). */
  auxiliaryDataset: { spec: 'auxiliary_dataset', proto: 'auxiliaryDataset', type: 'text', default: '' } as TextOption,
  auxiliaryWeight: { spec: 'auxiliary_weight', proto: 'auxiliaryWeight', type: 'number', min: 0.01, max: 100, default: 1 } as NumberOption,
  /** What the loop optimises; runs train supervised, SimCLR pretraining is started by experiments. */
  objective: { proto: 'objective', type: 'choice', choices: OBJECTIVES, default: 'supervised' } as ChoiceOption,
  /** SimCLR: the NT-Xent temperature. */
  contrastiveTemperature: { spec: 'contrastive_temperature', proto: 'contrastiveTemperature', type: 'number', min: 0.01, max: 10, default: 0.5 } as NumberOption,
} satisfies Record<string, Option>;

export type TrainOptionName = keyof typeof TRAIN_OPTIONS;

/**
 * The keys of the spec's `teacher` and `student` sections, in the spec's order (a run's digest hashes its
 * spec as JSON, so this order never changes; TRAIN_OPTIONS is in the order requests were built in, which
 * the grid's pretraining digests hash). contrastive_temperature is the grid's SimCLR key only.
 */
export const RUN_TRAIN_OPTION_NAMES: TrainOptionName[] = [
  'model', 'width', 'batchSize', 'maxSteps', 'learningRate', 'momentum', 'weightDecay', 'warmupSteps', 'checkpointEvery',
  'evalEvery', 'patience', 'augment', 'dropout', 'stochasticDepth', 'seed', 'randAugmentN', 'randAugmentM', 'labelSmoothing',
  'pixelClassBalance', 'initCheckpoint', 'auxiliaryDataset', 'auxiliaryWeight',
];

/** StartStudentRequest's own options: Zoph et al.'s loss normalization and the batch mix. */
export const STUDENT_OPTIONS = {
  /** L = (L_h + alpha * (Lbar_h/Lbar_p) * L_p) / (1 + alpha). */
  alpha: { spec: 'alpha', proto: 'alpha', type: 'number', min: 1e-3, max: 100, default: 1 } as NumberOption,
  /** Fraction of each batch that is pseudo-labeled (the paper: 256 + 256). */
  pseudoFraction: { spec: 'pseudo_fraction', proto: 'pseudoFraction', type: 'number', min: 0.05, max: 0.95, default: 0.5 } as NumberOption,
  /** On the wire it is the proto's disable_loss_normalization (a proto3 bool is false when unset). */
  lossNormalization: { spec: 'loss_normalization', type: 'boolean', default: true } as BooleanOption,
  /**
   * The student starts from its generation's teacher's weights instead of a random init (the spec refuses
   * it, or drops the default, where the student cannot load them: another model or width, a user's teacher
   * model, its own init_checkpoint). Photos, measured on CIFAR-10 with 4,000 labels (README): the same
   * 66.16 % teacher and pseudo-labels, 2,000 student steps, gave 69.16 from the teacher's weights against
   * 67.14 from a random init. At a budget of minutes the student spends its steps on what the teacher does
   * not know yet, not on relearning what it does; Fashion-MNIST keeps the random init it was tuned with.
   */
  initFromTeacher: { spec: 'init_from_teacher', type: 'boolean', default: false, by: { 'photos.student': true } } as BooleanOption,
} satisfies Record<string, Option>;
