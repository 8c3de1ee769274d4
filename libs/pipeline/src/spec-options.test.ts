// The spec's option sections, the request validation and the resolved options all come from one
// declaration per option (libs/options); and a 0 in a spec reaches the service as 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { InputError } from '@selftrain/errors';
import { resolveLabelingOptions } from '@selftrain/labeling';
import { defaultFor, LABELING_OPTIONS, requestFields, ROLES, STUDENT_OPTIONS, TASKS, TRAIN_OPTIONS, type Option } from '@selftrain/options';
import { LabelingOptions, StartStudentRequest, TrainOptions } from '@selftrain/proto';
import { resolveTrainOptions, trainDefaults } from '@selftrain/train';
import { validateStudentRequest } from '@selftrain/trainer';
import { specDigest } from './driver';
import { SPEC_SCHEMA, TEACHER_MODEL_FIELDS, validateSpec, type Field } from './spec';
import { trainOptionsFromSpec } from './train-options-from-spec';

const sectionOf = (name: string) => (SPEC_SCHEMA[name] as Extract<Field, { kind: 'section' }>).fields;
const SECTIONS: [string, Record<string, Option>][] = [
  ['teacher', TRAIN_OPTIONS], ['student', TRAIN_OPTIONS], ['student', STUDENT_OPTIONS], ['labeling', LABELING_OPTIONS],
];

test('the declarations walk: each spec field is its option, with the declared default in every task and role', () => {
  for (const [section, options] of SECTIONS) {
    const fields = sectionOf(section);
    const role = section === 'student' ? 'student' : 'teacher';
    for (const [name, o] of Object.entries(options)) {
      if (o.spec === undefined || name === 'contrastiveTemperature') continue;
      const f = fields[o.spec] as Record<string, unknown>;
      assert.ok(f, `${section}.${o.spec} is declared but not in the spec`);
      assert.equal(f.default, defaultFor(o, 'classification', role), `${section}.${o.spec}`);
      if (o.type === 'number') assert.deepEqual([f.min, f.max, !!f.integer], [o.min, o.max, !!o.integer], `${section}.${o.spec} range`);
      if (o.type === 'choice') assert.deepEqual(f.choices, [...o.choices], `${section}.${o.spec} choices`);
      for (const task of TASKS) {
        const spec = validateSpec({ task }) as unknown as Record<string, Record<string, unknown>>;
        // Dense runs never balance nor use soft labels: forced off, whatever the default.
        if (section === 'labeling' && ['balance', 'soft'].includes(o.spec) && task !== 'classification') continue;
        assert.deepEqual(spec[section][o.spec], defaultFor(o, task, role), `${task} ${section}.${o.spec}`);
      }
    }
  }
  // And nothing in those sections is undeclared (bar the driver's own, declared too, and the teacher's
  // user-model keys, which are no training option: spec.ts declares them, TeacherModel carries them).
  for (const [section, options] of [['teacher', [TRAIN_OPTIONS]], ['student', [TRAIN_OPTIONS, STUDENT_OPTIONS]], ['labeling', [LABELING_OPTIONS]]] as const) {
    const declared = new Set(options.flatMap((group) => Object.values(group as Record<string, Option>).map((o) => o.spec)));
    if (section === 'teacher') for (const key of Object.keys(TEACHER_MODEL_FIELDS)) declared.add(key);
    for (const key of Object.keys(sectionOf(section))) assert.ok(declared.has(key), `${section}.${key} is not declared in libs/options`);
  }
});

test('the declarations walk: request validation takes its defaults and ranges from the same declarations', () => {
  for (const role of ROLES) {
    const d = trainDefaults('classification', role);
    assert.deepEqual(resolveTrainOptions(undefined, d), d);
    for (const [name, o] of Object.entries(TRAIN_OPTIONS)) {
      assert.deepEqual((d as unknown as Record<string, unknown>)[name], defaultFor(o, 'classification', role), name);
      if (o.type !== 'number' || o.proto === undefined) continue;
      const field = `options.${o.spec}`;
      for (const bad of [o.min - 1, o.max + 1]) {
        if (!Number.isFinite(bad) || Math.abs(bad) > Number.MAX_SAFE_INTEGER) continue;
        assert.throws(() => resolveTrainOptions(TrainOptions.fromPartial({ [o.proto as string]: bad } as Partial<TrainOptions>), d), (e: unknown) => e instanceof InputError && e.field === field, `${field} = ${bad}`);
        assert.throws(() => validateSpec({ [role]: { [o.spec!]: bad } }), new RegExp(`${role}\\.${o.spec}`));
      }
    }
  }
  const labeling = resolveLabelingOptions(undefined);
  for (const name of ['threshold', 'temperature', 'balanceMinConfidence', 'batchSize'] as const) assert.equal(labeling[name], defaultFor(LABELING_OPTIONS[name]), name);
});

test('0 in a spec takes effect: threshold, seed, warmup_steps, weight_decay (they became 0.5, 1, 50 and 5e-4)', () => {
  const spec = validateSpec({
    teacher: { seed: 0, warmup_steps: 0, weight_decay: 0 }, student: { seed: 0, warmup_steps: 0, weight_decay: 0 }, labeling: { threshold: 0 },
  });
  // Through the wire, as the driver sends it.
  const teacher = resolveTrainOptions(TrainOptions.decode(TrainOptions.encode(trainOptionsFromSpec(spec.teacher)).finish()), trainDefaults('classification', 'teacher'));
  assert.deepEqual([teacher.seed, teacher.warmupSteps, teacher.weightDecay], [0, 0, 0]);
  const student = validateStudentRequest(StartStudentRequest.decode(StartStudentRequest.encode(StartStudentRequest.fromPartial({
    jobId: 'j', dataset: 'd', outputPrefix: 'o', pseudoShards: [{ key: 'p' }], options: trainOptionsFromSpec(spec.student),
    ...requestFields(STUDENT_OPTIONS, spec.student),
  })).finish()));
  assert.deepEqual([student.options.seed, student.options.warmupSteps, student.options.weightDecay, student.alpha, student.pseudoFraction], [0, 0, 0, 1, 0.5]);
  const labeling = resolveLabelingOptions(LabelingOptions.decode(LabelingOptions.encode(LabelingOptions.fromPartial({ ...requestFields(LABELING_OPTIONS, spec.labeling), perClassCap: 10 } as Partial<LabelingOptions>)).finish()));
  assert.equal(labeling.threshold, 0);
});

test('results unchanged: the default spec and the example specs complete and hash as before the declarations', () => {
  // Digests printed by today's main (73f57c9) for the same specs; a run record keeps its spec's digest.
  const before: Record<string, string> = {
    default: '98cc562278c41f651ac08f1183257d2bcc8c28153bcf1d3b6d809c5deb22c877',
    'scenes-detection.yaml': '78a34198f354b90923d1bed928c156215eda2ecda2dabe982fd8ca96df85af12',
    'scenes-segmentation.yaml': '28ddc578974b316917c9ee56a81f457ac895f96d172aa7d361782e3b85c61552',
    'tiny.yaml': '07ca911eff1221413649baf05bded88cbda4ba8c5667dc57b7a0cc12723aa0e2',
    'noisy-student.yaml': '29ac8303b62cbec49297950da3a05681b9abe064d373a6d42952dada53149fe8',
  };
  for (const [file, digest] of Object.entries(before)) {
    const raw = file === 'default' ? {} : parseYaml(readFileSync(path.join(__dirname, '../../../examples', file), 'utf8'));
    assert.equal(specDigest(validateSpec(raw)), digest, file);
  }
});
