// The request messages of the four services, field by field, as the wire sees them: numbers, wire types and
// nesting come from the .proto files themselves (loaded with @grpc/proto-loader, as the servers' reflection
// loads them), so a field added to protos/selftrain/v1 is covered here without anyone restating it.
// Field kinds say which hostile values fit: `id` becomes part of an object key, `key` is an object key;
// those two are what the .proto cannot say, so they are named below by field.
// protobuf-wire.test.ts checks the encoder built on these against the ts-proto decoders.
import * as protoLoader from '@grpc/proto-loader';
import { protoFiles, protoRoot } from '@selftrain/proto';

export type ScalarKind = 'id' | 'key' | 'string' | 'int32' | 'int64' | 'double' | 'bool' | 'enum';

export interface FieldSpec {
  no: number;
  name: string;
  kind: ScalarKind | MessageSpec;
  repeated?: boolean;
}

export interface MessageSpec {
  name: string;
  fields: FieldSpec[];
}

/** String fields whose value ends up in an object key (ids) or is one (keys); every other string is text. */
const STRING_KINDS: Record<string, 'id' | 'key'> = {
  job_id: 'id', train_split: 'id', validation_split: 'id', split: 'id',
  dataset: 'key', output_prefix: 'key', checkpoint: 'key', shard: 'key', key: 'key', init_checkpoint: 'key',
  auxiliary_dataset: 'key', predictions_prefix: 'key',
};

const SCALAR_KINDS: Record<string, ScalarKind> = {
  TYPE_STRING: 'string', TYPE_INT32: 'int32', TYPE_INT64: 'int64', TYPE_UINT64: 'int64', TYPE_UINT32: 'int64',
  TYPE_DOUBLE: 'double', TYPE_BOOL: 'bool', TYPE_ENUM: 'enum',
};

const PACKAGE = 'selftrain.v1';
const definitions = protoLoader.loadSync(protoFiles, { includeDirs: [protoRoot], keepCase: true });

interface FieldDescriptor { name: string; number: number; label: string; type: string; typeName: string }

/** The MessageSpec of `selftrain.v1.<name>`, from its descriptor; nested messages likewise. */
function messageSpec(name: string): MessageSpec {
  const definition = definitions[`${PACKAGE}.${name}`] as protoLoader.MessageTypeDefinition<object, object> | undefined;
  if (!definition) throw new Error(`no message ${PACKAGE}.${name} in ${protoRoot}`);
  const fields = (definition.type as { field: FieldDescriptor[] }).field.map((f): FieldSpec => {
    const repeated = f.label === 'LABEL_REPEATED' || undefined;
    if (f.type === 'TYPE_MESSAGE') return { no: f.number, name: f.name, kind: messageSpec(f.typeName.replace(/^\.?selftrain\.v1\./, '')), repeated };
    const scalar = SCALAR_KINDS[f.type];
    if (!scalar) throw new Error(`${name}.${f.name}: ${f.type} has no encoder here; add one to protobuf-wire.ts`);
    return { no: f.number, name: f.name, kind: scalar === 'string' ? STRING_KINDS[f.name] ?? 'string' : scalar, repeated };
  });
  return { name, fields };
}

export const TRAIN_OPTIONS = messageSpec('TrainOptions');
export const SHARD = messageSpec('Shard');
export const LABELING_OPTIONS = messageSpec('LabelingOptions');
export const START_TEACHER = messageSpec('StartTeacherRequest');
export const START_STUDENT = messageSpec('StartStudentRequest');
export const JOB_ID_REQUEST = messageSpec('GetJobRequest');
export const WATCH_JOB = messageSpec('WatchJobRequest');
export const GET_INFO = messageSpec('GetInfoRequest');
export const LABEL_SHARD = messageSpec('LabelShardRequest');
export const EVALUATE = messageSpec('EvaluateRequest');

/** A value for encodeMessage: scalars as JS values, messages as objects by field name, repeated as arrays. */
export type WireValue = string | number | bigint | boolean | Buffer | WireObject | WireValue[];
export interface WireObject { [field: string]: WireValue | undefined }
