export * from './labeling-options';
export * from './select-pseudo-labels';
export * from './label-shard';
