export * from './evaluate-checkpoint';
