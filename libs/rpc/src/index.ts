export * from './error-mapping';
export * from './request-context';
export * from './handlers';
export * from './server';
export * from './client';
export * from './health-check';
