export * from './service-config';
export * from './run-service';
export * from './job-status-store';
export * from './job-service-handlers';
export * from './cpu-budget';
export * from './memory-budget';
export * from './compute-fault';
