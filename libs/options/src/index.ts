export * from './option';
export * from './choices';
export * from './train-options';
export * from './labeling-options';
export * from './evaluation-options';
export * from './spec-values';
