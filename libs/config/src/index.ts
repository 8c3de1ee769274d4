export * from './config-reader';
