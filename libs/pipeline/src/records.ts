// The light entry (`@selftrain/pipeline/records`): the run records and the store they live in, without the
// driver, so `selftrain status` and `report` load neither TF.js nor the gRPC clients.
export * from './open-store';
export * from './results-table';
export * from './run-record-store';
