export * from './domain-errors';
export * from './field-checks';
export * from './object-key';
