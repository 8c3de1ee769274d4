import type { Task } from './option';

/**
 * Augmentation strengths, weakest first: none, then the paper's Augment-S1..S4. The proto's Augment enum
 * numbers them in this order from 1 (0 = unset).
 */
export const AUGMENT_LEVELS = ['none', 's1', 's2', 's3', 's4'] as const;
export type AugmentLevel = (typeof AUGMENT_LEVELS)[number];

/** The model zoo, and the task each model does. */
export const MODEL_TASKS = {
  'cnn-small': 'classification', 'resnet-small': 'classification', resnet18: 'classification', retinanet: 'detection', segmenter: 'segmentation',
} as const satisfies Record<string, Task>;
export type ModelName = keyof typeof MODEL_TASKS;
export const MODEL_NAMES = Object.keys(MODEL_TASKS) as ModelName[];

/** The models that do `task`. */
export function modelsFor(task: Task): ModelName[] {
  return MODEL_NAMES.filter((m) => MODEL_TASKS[m] === task);
}

export const OBJECTIVES = ['supervised', 'simclr'] as const;
export type Objective = (typeof OBJECTIVES)[number];
