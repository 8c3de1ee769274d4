export * from './model-cache';
export * from './model-checkpoints';
export * from './training-state-store';
