export { type Rng, createRng } from './create-rng';
export { mulberry32 } from './mulberry32';
export { nextLcgSeed } from './lcg-seed';
export { shuffleInPlace } from './shuffle-in-place';
