export * from './model-cache';
export * from './model-checkpoints';
