import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readLimitFor } from '@selftrain/rpc';
import { StorageError } from '@selftrain/storage';
import { EXIT_CODES, storageSockets, storageStartFailure } from './run-service';
import { readServiceConfig } from './service-config';

const SECRET = 'sk-very-secret-value';
const config = readServiceConfig('labeler', { S3_ENDPOINT: 'http://127.0.0.1:9000', S3_ACCESS_KEY: 'ak', S3_SECRET_KEY: SECRET, S3_BUCKET: 'models' });

test('the start-up storage failure names endpoint, bucket, reason and code, never the secret', () => {
  const err = new StorageError('http://127.0.0.1:9000', 'models', `check bucket denied: the server echoed ${SECRET}`, 'AccessDenied');
  assert.deepEqual(storageStartFailure(config, err), {
    endpoint: 'http://127.0.0.1:9000', bucket: 'models', reason: 'check bucket denied: the server echoed [redacted]', code: 'AccessDenied',
  });
});

test('exit codes are distinct, storage unusable at start is 3', () => {
  assert.equal(EXIT_CODES.storageUnavailable, 3);
  assert.equal(new Set(Object.values(EXIT_CODES)).size, Object.keys(EXIT_CODES).length);
});

test('a socket to the bucket for every admitted call and running job', () => {
  assert.equal(storageSockets(config), config.maxInFlightCalls + readLimitFor(config.maxInFlightCalls) + config.maxConcurrentJobs);
});
