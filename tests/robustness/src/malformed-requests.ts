// Malformed requests for every RPC of the four services, drawn from a seeded generator: undecodable
// bytes, wire-level corruption, and well-formed messages carrying hostile values.
import type { ServiceName } from '@selftrain/pipeline';
import { bytesField, encodeMessage, tag, varint, varintField, WireType } from './protobuf-wire';
import {
  EVALUATE, GET_INFO, JOB_ID_REQUEST, LABEL_SHARD, START_STUDENT, START_TEACHER, WATCH_JOB,
  type FieldSpec, type MessageSpec, type WireObject, type WireValue,
} from './request-schemas';
import type { SeededRandom } from './seeded-random';

/** The dataset the tests seed: a manifest whose shards are missing, with no `labeled` or `val` split. */
export const SEEDED_DATASET = 'datasets/robustness';
export const MISSING_CHECKPOINT = 'runs/robustness/teacher/checkpoints/best/model.json';

export interface MethodUnderTest {
  service: ServiceName;
  method: string;
  path: string;
  stream: boolean;
  spec: MessageSpec;
  /** Well-formed, naming artifacts that do not exist; mutated into the malformed requests. */
  base: WireObject;
}

const jobMethods = (service: 'teacher' | 'student', grpcService: string, start: MessageSpec, startBase: WireObject): MethodUnderTest[] => [
  { service, method: 'StartTraining', path: `/selftrain.v1.${grpcService}/StartTraining`, stream: false, spec: start, base: startBase },
  { service, method: 'WatchJob', path: `/selftrain.v1.${grpcService}/WatchJob`, stream: true, spec: WATCH_JOB, base: { job_id: 'no-such-job', after_seq: 0 } },
  { service, method: 'GetJob', path: `/selftrain.v1.${grpcService}/GetJob`, stream: false, spec: JOB_ID_REQUEST, base: { job_id: 'no-such-job' } },
  { service, method: 'CancelJob', path: `/selftrain.v1.${grpcService}/CancelJob`, stream: false, spec: JOB_ID_REQUEST, base: { job_id: 'no-such-job' } },
  { service, method: 'GetInfo', path: `/selftrain.v1.${grpcService}/GetInfo`, stream: false, spec: GET_INFO, base: {} },
];

// A StartTraining can only start a job when the dataset has both its splits; the seeded one never has
// `labeled` or `val`, and no hostile split name below is one of its splits, so nothing here trains.
export const METHODS: MethodUnderTest[] = [
  ...jobMethods('teacher', 'Teacher', START_TEACHER, {
    job_id: 'robust-teacher', dataset: SEEDED_DATASET, output_prefix: 'runs/robustness/teacher', options: { max_steps: 1, batch_size: 2 },
  }),
  ...jobMethods('student', 'Student', START_STUDENT, {
    job_id: 'robust-student', dataset: SEEDED_DATASET, output_prefix: 'runs/robustness/student', options: { max_steps: 1, batch_size: 2 },
    pseudo_shards: [{ key: 'runs/robustness/gen0/pseudo/missing.tfrecord', records: 10 }],
  }),
  { service: 'labeler', method: 'LabelShard', path: '/selftrain.v1.Labeler/LabelShard', stream: false, spec: LABEL_SHARD, base: {
    checkpoint: MISSING_CHECKPOINT, dataset: SEEDED_DATASET, shard: `${SEEDED_DATASET}/unlabeled-00000.tfrecord`, output_prefix: 'runs/robustness/gen0/pseudo',
  } },
  { service: 'labeler', method: 'GetInfo', path: '/selftrain.v1.Labeler/GetInfo', stream: false, spec: GET_INFO, base: {} },
  { service: 'evaluator', method: 'Evaluate', path: '/selftrain.v1.Evaluator/Evaluate', stream: false, spec: EVALUATE, base: {
    checkpoint: MISSING_CHECKPOINT, dataset: SEEDED_DATASET, split: 'test',
  } },
  { service: 'evaluator', method: 'GetInfo', path: '/selftrain.v1.Evaluator/GetInfo', stream: false, spec: GET_INFO, base: {} },
];

const TEN_KB = 'x'.repeat(10_240);

const HOSTILE: Record<string, readonly WireValue[]> = {
  id: [
    '', ' ', '.', '..', '../../etc/passwd', '/abs', 'a/b', 'a\\b', 'nul\u0000byte', '-leading', '.hidden', '_under', 'café', '💥', 'a b',
    '%2e%2e', 'job\nnewline', '\u202eevil', 'x'.repeat(129), TEN_KB, 'ok-id.1', 'CON', Buffer.from([0xff, 0xfe, 0xc3]),
  ],
  key: [
    '', '/', '/etc/passwd', '../outside', 'datasets/../../outside', 'datasets/./x', 'a//b', 'trailing/', 'a\\b', 'C:\\Windows\\system32',
    'with\u0000nul', 'tab\there', 'line\nbreak', 'x'.repeat(1025), TEN_KB, 'seg/'.repeat(255) + 'x', `long-${'y'.repeat(300)}`,
    's3://other-bucket/key', 'other-bucket/datasets/x', 'no/such/dataset', SEEDED_DATASET, `${SEEDED_DATASET}/manifest.json`,
    `${SEEDED_DATASET}/test-00000.tfrecord`, MISSING_CHECKPOINT, 'ünïcödé/ключ', '%00', 'a?b=c', 'a#frag', '~/x', 'with space', '.', '..',
    '\u202e', Buffer.from([0xc0, 0x80, 0x2f, 0xff]),
  ],
  string: ['', 'cnn-small', 'resnet-small', 'resnet-huge', 'CNN-SMALL', TEN_KB, 'nul\u0000', '💥', Buffer.from([0xed, 0xa0, 0x80])],
  int32: [0, 1, -1, 2, 3, -2147483648, 2147483647, 4096, 4097, 10_000_000, 10_000_001, 2n ** 32n, 2n ** 40n, -(2n ** 40n), 2n ** 64n - 1n],
  int64: [0, 1, -1, 2 ** 53 - 1, 2n ** 53n + 1n, -(2n ** 63n), 2n ** 63n - 1n, 2n ** 64n - 1n],
  double: [Number.NaN, Infinity, -Infinity, -1, -0, 5e-324, 1e-9, 0.05, 0.5, 1, 1.5, 100, 1e308, -1e308],
  bool: [true, false, 2n, 2n ** 64n - 1n],
  enum: [-1, 0, 1, 2, 3, 4, 5, 6, 99, 2147483647, -2147483648],
};

export interface MalformedRequest {
  /** What was done to the request, for the report of a failure. */
  label: string;
  payload: Buffer;
}

function clone(v: WireObject): WireObject {
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, Array.isArray(x) ? x.map((i) => (isObject(i) ? clone(i) : i)) : isObject(x) ? clone(x) : x]));
}

function isObject(v: unknown): v is WireObject {
  return typeof v === 'object' && v !== null && !Buffer.isBuffer(v) && !Array.isArray(v);
}

function describe(v: WireValue): string {
  if (Buffer.isBuffer(v)) return `bytes:${v.toString('hex').slice(0, 16)}`;
  if (typeof v === 'string') return v.length > 40 ? `"${v.slice(0, 12)}…" (${v.length} chars)` : JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  return Array.isArray(v) ? `[${v.length} items]` : String(v);
}

/** Sets one field (possibly nested) of `obj` to a hostile value; returns what it did. */
function mutate(spec: MessageSpec, obj: WireObject, r: SeededRandom, path = ''): string {
  if (spec.fields.length === 0) return 'no fields';
  const f: FieldSpec = r.pick(spec.fields);
  const name = `${path}${f.name}`;
  if (r.next() < 0.1) {
    delete obj[f.name];
    return `${name} removed`;
  }
  if (typeof f.kind === 'object') {
    const sub = f.kind;
    const roll = r.next();
    if (f.repeated) {
      const n = r.pick([0, 1, 3, 50, 2000]);
      const items: WireObject[] = [];
      for (let i = 0; i < n; i++) {
        const item: WireObject = { key: `runs/robustness/gen0/pseudo/missing-${i}.tfrecord`, records: 10 };
        if (r.next() < 0.5) mutate(sub, item, r);
        items.push(item);
      }
      obj[f.name] = items;
      return `${name}: ${n} items`;
    }
    if (roll < 0.2) {
      obj[f.name] = r.bytes(r.int(40));
      return `${name}: junk sub-message`;
    }
    const inner = isObject(obj[f.name]) ? (obj[f.name] as WireObject) : {};
    obj[f.name] = inner;
    return mutate(sub, inner, r, `${name}.`);
  }
  const value = r.next() < 0.15 && (f.kind === 'id' || f.kind === 'key' || f.kind === 'string')
    ? Array.from({ length: 1 + r.int(40) }, () => String.fromCharCode(32 + r.int(95))).join('')
    : r.pick(HOSTILE[f.kind]);
  obj[f.name] = value;
  return `${name}=${describe(value)}`;
}

function deepGroups(depth: number): Buffer {
  return Buffer.concat([Buffer.alloc(depth, tag(1, WireType.StartGroup)), Buffer.alloc(depth, tag(1, WireType.EndGroup))]);
}

/** One wire-level corruption of a well-formed request: something a protobuf decoder has to refuse or skip. */
function corruptWire(m: MethodUnderTest, r: SeededRandom): MalformedRequest {
  const valid = encodeMessage(m.spec, m.base);
  const fieldNo = m.spec.fields.length ? r.pick(m.spec.fields).no : 1 + r.int(20);
  const kinds: [string, () => Buffer][] = [
    ['wrong wire type (varint for a length-delimited field or the reverse)', () => Buffer.concat([valid, varintField(fieldNo, r.int(1000)), bytesField(fieldNo + 100, 'x')])],
    ['fixed32 / fixed64 where another type belongs', () => Buffer.concat([valid, tag(fieldNo, r.pick([WireType.Fixed32, WireType.Fixed64])), r.bytes(8)])],
    ['invalid wire type 6 or 7', () => Buffer.concat([valid, tag(fieldNo, r.pick([6, 7])), r.bytes(4)])],
    ['length prefix past the end', () => Buffer.concat([valid, tag(fieldNo, WireType.Bytes), varint(1000 + r.int(1_000_000)), r.bytes(r.int(10))])],
    ['truncated message', () => valid.subarray(0, Math.max(0, valid.length - 1 - r.int(Math.max(1, valid.length))))],
    ['overlong varint', () => Buffer.concat([valid, tag(fieldNo, WireType.Varint), Buffer.alloc(11, 0xff)])],
    ['unterminated group', () => Buffer.concat([valid, tag(99, WireType.StartGroup), r.bytes(r.int(8))])],
    ['stray end-group', () => Buffer.concat([tag(fieldNo, WireType.EndGroup), valid])],
    ['groups nested 100,000 deep', () => Buffer.concat([valid, deepGroups(100_000)])],
    ['int64 beyond 2^53 in a varint field', () => Buffer.concat([valid, varintField(fieldNo, 2n ** 60n + BigInt(r.int(1000)))])],
    ['field number 0', () => Buffer.concat([tag(0, WireType.Varint), varint(1), valid])],
    ['field number 2^29-1', () => Buffer.concat([valid, bytesField(2 ** 29 - 1, r.bytes(5))])],
  ];
  const [label, make] = r.pick(kinds);
  return { label, payload: make() };
}

/** The i-th malformed request for a method; the same seed gives the same sequence. */
export function malformedRequest(m: MethodUnderTest, r: SeededRandom): MalformedRequest {
  const roll = r.next();
  if (roll < 0.15) {
    const n = r.int(300);
    return { label: `${n} random bytes`, payload: r.bytes(n) };
  }
  if (roll < 0.35) return corruptWire(m, r);
  if (roll < 0.4) return { label: 'well-formed, naming artifacts that do not exist', payload: encodeMessage(m.spec, m.base) };
  const obj = clone(m.base);
  const changes = Array.from({ length: 1 + r.int(3) }, () => mutate(m.spec, obj, r));
  return { label: changes.join('; '), payload: encodeMessage(m.spec, obj) };
}
