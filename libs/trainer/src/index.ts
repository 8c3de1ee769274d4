export * from './dataset-examples';
export * from './request-digest';
export * from './task-trainer';
export * from './training-jobs';
export * from './validate-requests';
export * from './training-memory';
export * from './start-training-job';
