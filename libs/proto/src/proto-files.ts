import * as path from 'node:path';

// The .proto sources, for server reflection (loaded by @grpc/proto-loader at runtime).
export const protoRoot = path.resolve(__dirname, '../../../protos');
export const protoFiles = [
  'selftrain/v1/teacher.proto',
  'selftrain/v1/student.proto',
  'selftrain/v1/labeler.proto',
  'selftrain/v1/evaluator.proto',
];
