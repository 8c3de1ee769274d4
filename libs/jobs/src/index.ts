export * from './job-registry';
export * from './terminal-states';
