import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadSpecFile, SpecError, validateSpec } from './spec';

test('an empty spec is the default Fashion-MNIST loop', () => {
  const s = validateSpec({});
  assert.equal(s.dataset.source, 'fashion-mnist');
  assert.equal(s.dataset.labels_per_class, 100);
  assert.equal(s.generations, 1);
  assert.equal(s.labeling.threshold, 0.5);
  assert.equal(s.labeling.balance, true);
  assert.equal(s.student.width, 0.5);
});

test('unknown keys and wrong types are reported together, each naming its path', () => {
  try {
    validateSpec({ teacher: { max_step: 5, batch_size: 'big' }, labeling: { threshold: 1.5 }, generations: 1.5, extra: true });
    assert.fail('should throw');
  } catch (err) {
    assert.ok(err instanceof SpecError);
    const fields = err.problems.map((p) => p.field).sort();
    assert.deepEqual(fields, ['extra', 'generations', 'labeling.threshold', 'teacher.batch_size', 'teacher.max_step']);
    assert.match(err.message, /teacher\.batch_size: must be a number, got the string "big"/);
  }
});

test('YAML and JSON files; a broken file names itself', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'spec-'));
  const yaml = path.join(dir, 'a.yaml');
  writeFileSync(yaml, 'name: tiny\nteacher:\n  max_steps: 20\n');
  assert.equal(loadSpecFile(yaml).teacher.max_steps, 20);
  const json = path.join(dir, 'b.json');
  writeFileSync(json, '{"name": "j", "student": {"augment": "s9"}}');
  assert.throws(() => loadSpecFile(json), /student\.augment: must be one of/);
  const bad = path.join(dir, 'c.yaml');
  writeFileSync(bad, 'name: [unclosed\n');
  assert.throws(() => loadSpecFile(bad), (e: unknown) => e instanceof SpecError && e.problems[0].field === bad);
});
