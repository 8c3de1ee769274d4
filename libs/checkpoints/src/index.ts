export * from './model-cache';
export * from './model-checkpoints';
export * from './training-state-store';
export * from './task-models';
export * from './dense-checkpoint-fit';
export * from './input-preprocessing';
export * from './init-weights';
