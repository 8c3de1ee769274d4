export * from './service-metrics';
export * from './metrics-server';
