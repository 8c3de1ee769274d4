export * from './batch';
export * from './learning-rate';
export * from './loss-normalizer';
export * from './predict';
export * from './sgd-momentum';
export * from './shuffle-buffer';
export * from './train-classifier';
export * from './train-options';
