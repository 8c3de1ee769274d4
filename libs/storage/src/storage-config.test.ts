import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactStorageConfig, storageConfigFromEnv } from './storage-config';

test('no S3_ENDPOINT: no config, no problems (the caller starts the embedded server)', () => {
  assert.deepEqual(storageConfigFromEnv({}), { config: undefined, problems: [] });
});

test('a full environment parses into a config with defaults', () => {
  const { config, problems } = storageConfigFromEnv({
    S3_ENDPOINT: 'http://127.0.0.1:9000', S3_ACCESS_KEY: 'ak', S3_SECRET_KEY: 'sk',
  });
  assert.deepEqual(problems, []);
  assert.deepEqual(config, {
    endPoint: '127.0.0.1', port: 9000, useSSL: false, accessKey: 'ak', secretKey: 'sk',
    bucket: 'selftrain', region: 'us-east-1', prefix: '', createBucket: false,
  });
  const tls = storageConfigFromEnv({
    S3_ENDPOINT: 'https://s3.example.com', S3_ACCESS_KEY: 'a', S3_SECRET_KEY: 'b', S3_BUCKET: 'ml-runs',
    S3_REGION: 'eu-west-1', S3_PREFIX: 'team/a', S3_CREATE_BUCKET: 'true',
  }).config;
  assert.equal(tls?.useSSL, true);
  assert.equal(tls?.port, 443);
  assert.equal(tls?.bucket, 'ml-runs');
  assert.equal(tls?.prefix, 'team/a');
  assert.equal(tls?.createBucket, true);
});

test('every problem is reported at once', () => {
  const { config, problems } = storageConfigFromEnv({
    S3_ENDPOINT: 'not a url', S3_BUCKET: 'Bad_Bucket', S3_PREFIX: '../escape', S3_CREATE_BUCKET: 'maybe',
  });
  assert.equal(config, undefined);
  const fields = problems.map((p) => p.field).sort();
  assert.deepEqual(fields, ['S3_ACCESS_KEY', 'S3_BUCKET', 'S3_CREATE_BUCKET', 'S3_ENDPOINT', 'S3_PREFIX', 'S3_SECRET_KEY']);
  assert.match(problems.find((p) => p.field === 'S3_ENDPOINT')!.message, /not a URL/);
});

test('endpoint with a path, credentials or a foreign scheme is rejected', () => {
  const base = { S3_ACCESS_KEY: 'a', S3_SECRET_KEY: 'b' };
  assert.equal(storageConfigFromEnv({ ...base, S3_ENDPOINT: 'http://h:9000/bucket' }).problems.length, 1);
  assert.equal(storageConfigFromEnv({ ...base, S3_ENDPOINT: 'ftp://h' }).problems.length, 1);
  assert.equal(storageConfigFromEnv({ ...base, S3_ENDPOINT: 'http://u:p@h' }).problems.length, 1);
});

test('redactStorageConfig hides both keys and leaves the input alone', () => {
  const config = { endPoint: 'h', port: 1, useSSL: false, accessKey: 'ak', secretKey: 'sk', bucket: 'b1b' };
  const red = redactStorageConfig(config);
  assert.equal(red.accessKey, '[redacted]');
  assert.equal(red.secretKey, '[redacted]');
  assert.equal(config.secretKey, 'sk');
  assert.ok(!JSON.stringify(red).includes('sk"'));
});
