import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  CancelledError, ConflictError, CorruptDataError, FailedPreconditionError, InputError, NotFoundError, OverloadedError,
} from '@selftrain/errors';
import { fromServiceError, RpcError, statusOf, toServiceError } from './error-mapping';

test('each domain error has one status code', () => {
  assert.equal(statusOf(new InputError('f', 'bad')), status.INVALID_ARGUMENT);
  assert.equal(statusOf(new NotFoundError('x')), status.NOT_FOUND);
  assert.equal(statusOf(new ConflictError('x')), status.ALREADY_EXISTS);
  assert.equal(statusOf(new OverloadedError('x')), status.RESOURCE_EXHAUSTED);
  assert.equal(statusOf(new CorruptDataError('obj', 12, 'crc')), status.DATA_LOSS);
  assert.equal(statusOf(new FailedPreconditionError('x')), status.FAILED_PRECONDITION);
  assert.equal(statusOf(new CancelledError('x')), status.CANCELLED);
  assert.equal(statusOf(new Error('boom')), status.INTERNAL);
});

test('the field travels in metadata and comes back as an InputError naming it', () => {
  const wire = toServiceError(new InputError('options.batch_size', 'must be >= 2, got -4'));
  assert.equal(wire.code, status.INVALID_ARGUMENT);
  assert.equal(wire.details, 'options.batch_size: must be >= 2, got -4');
  const back = fromServiceError({ ...wire, message: '', name: 'Error', metadata: wire.metadata as Metadata } as ServiceError, 'StartTraining');
  assert.ok(back instanceof InputError);
  assert.equal(back.field, 'options.batch_size');
  assert.equal(back.message, 'options.batch_size: must be >= 2, got -4');
});

test('other codes become NotFoundError, OverloadedError or RpcError', () => {
  const err = (code: status): ServiceError => ({ code, details: 'd', message: 'm', name: 'Error', metadata: new Metadata() });
  assert.ok(fromServiceError(err(status.NOT_FOUND), 'Get') instanceof NotFoundError);
  assert.ok(fromServiceError(err(status.RESOURCE_EXHAUSTED), 'Get') instanceof OverloadedError);
  const other = fromServiceError(err(status.DATA_LOSS), 'Get');
  assert.ok(other instanceof RpcError && other.code === status.DATA_LOSS);
});

test('INTERNAL names the request id, so a caller can find the logged stack; other codes keep the message as is', () => {
  assert.equal(toServiceError(new Error('boom'), 'req-7').details, 'internal error (request req-7): boom');
  assert.equal(toServiceError(new Error('boom')).details, 'internal error: boom');
  assert.equal(toServiceError(new NotFoundError('job x'), 'req-7').details, 'job x not found');
});
