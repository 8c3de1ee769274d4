export * from './domain-errors';
export * from './field-checks';
