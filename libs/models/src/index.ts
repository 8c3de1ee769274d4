export { MODEL_NAMES } from './model-spec';
export type { ModelName, ModelSpec } from './model-spec';
export { buildModel, forwardTrain } from './build-model';
export { countParams, countFlops } from './model-stats';
export { StochasticDepth } from './stochastic-depth';
export type { StochasticDepthArgs } from './stochastic-depth';
