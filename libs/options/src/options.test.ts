import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '@selftrain/errors';
import {
  AUGMENT_LEVELS, defaultFor, EVALUATION_OPTIONS, LABELING_OPTIONS, MODEL_NAMES, modelsFor, problemWith, resolveOption, ROLES,
  STUDENT_OPTIONS, TASKS, TRAIN_OPTIONS, INPUTS, type Option,
} from './index';

const ALL: Record<string, Record<string, Option>> = { TRAIN_OPTIONS, STUDENT_OPTIONS, LABELING_OPTIONS, EVALUATION_OPTIONS };

test('every declared default, in every task and role, fits its own range or choices', () => {
  for (const [group, options] of Object.entries(ALL)) {
    for (const [name, o] of Object.entries(options)) {
      assert.ok(o.spec !== undefined || o.proto !== undefined, `${group}.${name} is neither in the spec nor on the wire`);
      for (const task of TASKS) for (const role of ROLES) {
        assert.equal(problemWith(o, defaultFor(o, task, role)), undefined, `${group}.${name} for a ${task} ${role}`);
        for (const input of INPUTS) assert.equal(problemWith(o, defaultFor(o, task, role, input)), undefined, `${group}.${name} for a ${task} ${role} on ${input}`);
      }
    }
  }
});

test('the most specific default wins: task.role, then task, then role', () => {
  assert.equal(defaultFor(TRAIN_OPTIONS.maxSteps, 'classification', 'teacher'), 2000);
  assert.equal(defaultFor(TRAIN_OPTIONS.maxSteps, 'classification', 'student'), 4000);
  assert.equal(defaultFor(TRAIN_OPTIONS.maxSteps, 'detection', 'teacher'), 3000);
  assert.equal(defaultFor(TRAIN_OPTIONS.maxSteps, 'detection', 'student'), 4500);
  assert.equal(defaultFor(TRAIN_OPTIONS.augment, 'segmentation', 'student'), 's1');
  assert.equal(defaultFor(TRAIN_OPTIONS.augment, 'classification', 'student'), 's2');
});

test('presence, not zero: 0 is kept, only a field left out takes the default', () => {
  assert.equal(resolveOption(TRAIN_OPTIONS.seed, 0, 'options.seed'), 0);
  assert.equal(resolveOption(TRAIN_OPTIONS.seed, undefined, 'options.seed'), 1);
  assert.equal(resolveOption(TRAIN_OPTIONS.warmupSteps, 0, 'options.warmup_steps'), 0);
  assert.equal(resolveOption(TRAIN_OPTIONS.weightDecay, 0, 'options.weight_decay'), 0);
  assert.equal(resolveOption(LABELING_OPTIONS.threshold, 0, 'options.threshold'), 0);
  assert.equal(resolveOption(LABELING_OPTIONS.threshold, undefined, 'options.threshold', 'detection'), 0.4);
  assert.throws(() => resolveOption(STUDENT_OPTIONS.alpha, 0, 'alpha'), (e: unknown) => e instanceof InputError && e.field === 'alpha');
  assert.throws(() => resolveOption(TRAIN_OPTIONS.seed, 1.5, 'options.seed'), /integer/);
});

test('every model does one task, and every task has a model', () => {
  assert.deepEqual(TASKS.flatMap((t) => modelsFor(t)).sort(), [...MODEL_NAMES].sort());
  for (const task of TASKS) assert.ok(modelsFor(task).includes(defaultFor(TRAIN_OPTIONS.model, task) as never), task);
  assert.deepEqual([...AUGMENT_LEVELS], ['none', 's1', 's2', 's3', 's4']);
});

test('photos: a classifier of a user\'s images defaults to the residual model, its student at least as large; other tasks ignore the input', () => {
  for (const role of ROLES) assert.equal(defaultFor(TRAIN_OPTIONS.model, 'classification', role, 'photos'), 'resnet18');
  assert.ok(defaultFor(TRAIN_OPTIONS.width, 'classification', 'student', 'photos') >= defaultFor(TRAIN_OPTIONS.width, 'classification', 'teacher', 'photos'));
  assert.ok(defaultFor(TRAIN_OPTIONS.stochasticDepth, 'classification', 'student', 'photos') > 0);
  // Measured on CIFAR-10 (README, ADR 0011): a student that starts from its teacher learns under RandAugment.
  assert.equal(defaultFor(TRAIN_OPTIONS.augment, 'classification', 'student', 'photos'), 's2');
  assert.equal(defaultFor(STUDENT_OPTIONS.initFromTeacher, 'classification', 'student', 'photos'), true);
  assert.equal(defaultFor(STUDENT_OPTIONS.initFromTeacher, 'classification', 'student'), false);
  assert.equal(defaultFor(TRAIN_OPTIONS.augment, 'classification', 'student'), 's2');
  assert.equal(defaultFor(TRAIN_OPTIONS.model, 'detection', 'teacher', 'photos'), 'retinanet');
  // Without the input, Fashion-MNIST's defaults as before.
  assert.equal(defaultFor(TRAIN_OPTIONS.model, 'classification', 'student'), 'cnn-small');
  assert.equal(defaultFor(TRAIN_OPTIONS.width, 'classification', 'student'), 0.75);
});
